import { parseSize } from '../../bundle/parse-size.js';
import { pack } from '../../workflows/pack.js';
import { lockOwner, registryOptions, renderer, stringList, writeJson } from '../common.js';
import { formatBytes, formatDuration } from '../format.js';
import type { Command } from './types.js';

export const packCommand: Command = {
  command: 'pack',
  describe: 'Pack a release, its components, signatures and graph-data into a bundle (connected side)',
  builder: (y) =>
    registryOptions(y, 'src')
      .option('release', { type: 'string', demandOption: true, description: 'Release image pullspec (tag or digest)' })
      .option('to', { type: 'string', demandOption: true, description: 'Bundle directory to create (empty or new; an interrupted pack resumes)' })
      .option('graph-data', { type: 'string', description: 'Cincinnati graph-data image to carry with its signature' })
      .option('image', { type: 'array', string: true, description: 'More images to carry (repeatable)' })
      .option('no-images', { type: 'boolean', description: 'Only the signature ConfigMap and signatures, no images' })
      .option('signature-store', {
        type: 'array',
        string: true,
        description: 'Signature store URL, http(s):// or file:// (repeatable). Default: the two official stores',
      })
      .option('keyring', {
        type: 'array',
        string: true,
        description: 'OpenPGP keyring to verify signatures (repeatable). Default: Red Hat release key 2, shipped with bale',
      })
      .option('volume-size', { type: 'string', default: '4095MiB', description: 'Largest volume file (e.g. 4GiB, 700MiB); the default fits FAT32' })
      .option('sign-key', { type: 'string', description: 'Armored OpenPGP private key: write bundle.json.asc' })
      .option('compression-level', { type: 'number', default: 3, description: 'zstd level for the volumes' })
      .option('verify-after-write', { type: 'boolean', description: 'Read every volume back and verify it after writing' })
      .example('$0 pack --release quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64 --to /media/usb/bale', 'Pack a release onto a USB disk')
      .example(
        '$0 pack --release quay.io/openshift-release-dev/ocp-release@sha256:… --graph-data quay.io/openshift/graph-data:latest --to ./bundle --volume-size 700MiB',
        'With the update graph, in CD-sized volumes',
      )
      .example('$0 pack --release REF --to ./sig-only --no-images', 'Carry only the release signature'),
  handler: async (args, ctx) => {
    const progress = renderer(args, ctx);
    try {
      const result = await pack({
        release: String(args.release),
        to: String(args.to),
        graphData: args['graph-data'] as string | undefined,
        images: stringList(args.image),
        noImages: Boolean(args['no-images']),
        signatureStores: stringList(args['signature-store']),
        keyrings: stringList(args.keyring),
        registryConfig: args['registry-config'] as string | undefined,
        srcTlsVerify: args['src-tls-verify'] as boolean,
        caFile: args['ca-file'] as string | undefined,
        volumeSize: parseSize(String(args['volume-size']), '--volume-size'),
        signKey: args['sign-key'] as string | undefined,
        concurrency: args.concurrency as number,
        compressionLevel: args['compression-level'] as number,
        verifyAfterWrite: Boolean(args['verify-after-write']),
        env: ctx.env,
        homeDir: ctx.homeDir,
        lockOwner: lockOwner(),
        progress,
        signal: ctx.signal,
      });
      progress.stop();
      if (args.json) {
        writeJson(ctx, { ok: true, ...result });
        return 0;
      }
      const total = result.volumes.reduce((n, v) => n + v.size, 0);
      const lines = [
        `Packed OpenShift ${result.release.version} (${result.release.architecture}) ${result.release.digest}`,
        `  ${result.images} images, ${result.blobs} blobs, ${formatBytes(result.contentBytes)} of content`,
        `  ${result.volumes.length} volume(s), ${formatBytes(total)} in ${result.bundleDir}`,
        `  ${result.signatures.length} release signature(s): ${[...new Set(result.signatures.map((s) => s.keyId))].join(', ')}`,
      ];
      if (result.graphData) lines.push(`  graph-data revision ${result.graphData.revision}`);
      lines.push(
        `  downloaded ${result.stats.blobsDownloaded} blobs (${formatBytes(result.stats.bytesDownloaded)}), reused ${result.stats.blobsReused} blobs and ${result.stats.volumesReused} volumes, ${result.stats.retries} retries, in ${formatDuration(result.durationMs)}`,
      );
      lines.push(`Next: check the media with 'bale verify ${result.bundleDir}' (or 'sha256sum -c SHA256SUMS' inside it).`);
      ctx.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      progress.stop();
    }
  },
};
