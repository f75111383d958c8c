import { parseSize } from '../../bundle/parse-size.js';
import { isBaleError } from '../../errors.js';
import { parseReference } from '../../registry/reference.js';
import { defaultRegistriesConfLocations } from '../../registry/registries-conf.js';
import { DEFAULT_COMPRESSION_LEVEL } from '../../workflows/pack/types.js';
import { UsageError } from '../errors.js';
import {
  lockOwner,
  registryOptions,
  releaseSignatureOptions,
  renderer,
  sigstoreKeyOption,
  stringList,
  volumeSizeOption,
  writeJson,
} from '../common.js';
import { formatBytes, formatDuration } from '../format.js';
import type { Command } from './types.js';

export const packCommand: Command = {
  command: 'pack',
  describe: 'Pack a release, its components, signatures and graph-data into a bundle (connected side)',
  builder: (y) =>
    y
      .options(registryOptions('src'))
      .options(sigstoreKeyOption)
      .option('release', {
        type: 'string',
        description: 'Release image pullspec (tag or digest); optional when --config names the release',
      })
      .option('config', {
        type: 'string',
        description:
          'Image set: an oc-mirror ImageSetConfiguration, a promoter manifest, or a thin-manifest directory (see "Image sets")',
      })
      .option('to', {
        type: 'string',
        demandOption: true,
        description: 'Bundle directory to create (empty or new; an interrupted pack resumes)',
      })
      .option('graph-url', {
        type: 'string',
        description:
          'Update service graph endpoint for the channels of --config. Default: UPDATE_URL_OVERRIDE, else the public OpenShift update service',
      })
      .option('graph-file', {
        type: 'string',
        conflicts: 'graph-url',
        description:
          'A saved update graph (JSON) to resolve the channels against, instead of asking the service',
      })
      .option('allow-conditional-edges', {
        type: 'boolean',
        description: 'An update path may take conditional updates (each risk is printed)',
      })
      .option('arch', {
        type: 'array',
        string: true,
        description:
          "Release architecture (repeatable): amd64, arm64, ppc64le, s390x, or multi (the multi-arch payload, carried whole). Default: the image set's, else amd64",
      })
      .option('graph-data', {
        type: 'string',
        description: 'Cincinnati graph-data image to carry with its signature',
      })
      .option('have', {
        type: 'string',
        description:
          'Incremental: a bale snapshot (YAML, CSV or JSON) of the far-side mirror; blobs it holds are left out',
      })
      .option('since', {
        type: 'string',
        description:
          'Incremental: a previous bundle directory (or its bundle.json); blobs it carried are left out',
      })
      .conflicts('have', 'since')
      .option('image', { type: 'array', string: true, description: 'More images to carry (repeatable)' })
      .option('images', {
        type: 'boolean',
        default: true,
        description: 'Carry the images; --no-images: only the signature ConfigMap and signatures',
      })
      .options(releaseSignatureOptions)
      .options(volumeSizeOption('Largest volume file (e.g. 4GiB, 700MiB); the default fits FAT32'))
      .option('sign-key', {
        type: 'string',
        description: 'Armored OpenPGP private key: write bundle.json.asc',
      })
      .option('compression-level', {
        type: 'number',
        default: DEFAULT_COMPRESSION_LEVEL,
        description:
          'zstd level for the volumes, 1-19 (layers are gzip already: higher levels cost time, not bytes)',
      })
      .option('idms-file', {
        type: 'array',
        string: true,
        description:
          'ImageDigestMirrorSet YAML: mirrors to read content from by digest, original last (repeatable)',
      })
      .option('icsp-file', {
        type: 'array',
        string: true,
        description: 'ImageContentSourcePolicy YAML, read as --idms-file (repeatable)',
      })
      .option('registries-conf', {
        type: 'string',
        description:
          'containers registries.conf whose [[registry.mirror]] tables to use. Default: the usual locations',
      })
      .option('sigstore', {
        type: 'boolean',
        default: true,
        description:
          'Carry the Sigstore signature artifacts (sha256-<hex>.sig) of every image; --no-sigstore: do not look for them',
      })
      .option('verify-after-write', {
        type: 'boolean',
        description: 'Read every volume back and verify it after writing',
      })
      .example(
        '$0 pack --release quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64 --to /media/usb/bale',
        'Pack a release onto a USB disk',
      )
      .example(
        '$0 pack --release quay.io/openshift-release-dev/ocp-release@sha256:… --graph-data quay.io/openshift/graph-data:latest --to ./bundle --volume-size 700MiB',
        'With the update graph, in CD-sized volumes',
      )
      .example('$0 pack --config imageset-config.yaml --to ./bundle', 'Pack what an image set names')

      .example(
        '$0 pack --release mirror.example.com:5000/ocp/release:4.18.1-x86_64 --idms-file idms.yaml --to ./bundle',
        'Pack from your own mirror while image-references name quay.io',
      ),
  handler: async (args, ctx) => {
    // A malformed pullspec on the command line is a usage error (exit 2), caught before any work.
    if (args.release === undefined && args.config === undefined) {
      throw new UsageError('give --release, or --config with an image set that names the release');
    }
    if (args.release !== undefined) checkReference('--release', String(args.release));
    if (args['graph-data'] !== undefined) checkReference('--graph-data', String(args['graph-data']));
    for (const image of stringList(args.image)) checkReference('--image', image);
    const concurrency = Number(args.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(
        `--concurrency must be a whole number from 1 to 64, not ${String(args.concurrency)}`,
      );
    }
    const level = Number(args['compression-level']);
    if (!Number.isInteger(level) || level < 1 || level > 19) {
      throw new UsageError(
        `--compression-level must be a whole number from 1 to 19, not ${String(args['compression-level'])}`,
      );
    }
    const progress = renderer(args, ctx);
    try {
      const result = await (
        await import('../../workflows/pack/index.js')
      ).pack({
        release: args.release as string | undefined,
        config: args.config as string | undefined,
        to: String(args.to),
        have: args.have as string | undefined,
        since: args.since as string | undefined,
        graphUrl: args['graph-url'] as string | undefined,
        graphFile: args['graph-file'] as string | undefined,
        allowConditionalEdges: Boolean(args['allow-conditional-edges']),
        architectures: stringList(args.arch),
        graphData: args['graph-data'] as string | undefined,
        images: stringList(args.image),
        noImages: args.images === false,
        signatureStores: stringList(args['signature-store']),
        keyrings: stringList(args.keyring),
        sigstoreKeys: stringList(args['sigstore-key']),
        sigstore: args.sigstore !== false,
        registryConfig: args['registry-config'] as string | undefined,
        idmsFiles: stringList(args['idms-file']),
        icspFiles: stringList(args['icsp-file']),
        registriesConf:
          args['registries-conf'] !== undefined
            ? { path: String(args['registries-conf']) }
            : defaultRegistriesConfLocations(ctx.homeDir),
        srcTlsVerify: args['src-tls-verify'] as boolean,
        caFile: args['ca-file'] as string | undefined,
        volumeSize: parseSize(String(args['volume-size']), '--volume-size'),
        signKey: args['sign-key'] as string | undefined,
        concurrency,
        compressionLevel: level,
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
      const rels = result.releases;
      const lines = [
        rels.length === 1
          ? `Packed OpenShift ${result.release.version} (${result.release.architecture}) ${result.release.digest}`
          : `Packed OpenShift ${rels.map((r) => r.version).join(', ')} (${rels.length} releases)`,
        ...(rels.length > 1 ? rels.map((r) => `  ${r.version} (${r.architecture}) ${r.digest}`) : []),
        ...result.graphs.map((g) => `  update graph ${g.channel} (${g.arch}) from ${g.source}: ${g.path}`),
        `  ${result.images} images, ${result.blobs} blobs, ${formatBytes(result.contentBytes)} of content`,
        `  ${result.volumes.length} volume(s), ${formatBytes(total)} in ${result.bundleDir}`,
        `  ${result.signatures.length} release signature(s): ${[...new Set(result.signatures.map((s) => s.keyId))].join(', ')}`,
      ];
      if (result.graphData) lines.push(`  graph-data revision ${result.graphData.revision}`);
      if (result.base) {
        lines.push(
          `  incremental: ${result.base.digests} blob(s), ${formatBytes(result.base.bytes)} left out, expected at the destination (base: ${result.base.kind} ${result.base.file})`,
        );
      }
      const v = result.verifier;
      lines.push(
        `  release signatures looked for in ${v.storesFrom === 'payload' ? "the payload's stores" : v.storesFrom === 'official' ? 'the official stores' : '--signature-store'}: ${v.stores.join(', ')}`,
      );
      if (v.keys) {
        lines.push(
          `  the payload's verifier keys ${v.keys.verdict === 'agree' ? 'agree with the keyring' : `differ from the keyring (payload only, not trusted: ${v.keys.payloadOnly.join(', ') || 'none'}; keyring only: ${v.keys.keyringOnly.join(', ') || 'none'})`}`,
        );
      }
      if (result.sigstore.length > 0) {
        const valid = result.sigstore.filter((s) => s.state === 'valid').length;
        lines.push(
          `  ${result.sigstore.length} Sigstore signature artifact(s), ${valid} verified with the Sigstore key(s)`,
        );
      }
      lines.push(
        `  downloaded ${result.stats.blobsDownloaded} blobs (${formatBytes(result.stats.bytesDownloaded)}), reused ${result.stats.blobsReused} blobs and ${result.stats.volumesReused} volumes, ${result.stats.retries} retries, in ${formatDuration(result.durationMs)}`,
      );
      lines.push(
        `Next: check the media with 'bale verify ${result.bundleDir}' (or 'sha256sum -c SHA256SUMS' inside it).`,
      );
      ctx.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      progress.stop();
    }
  },
};

function checkReference(option: string, value: string): void {
  try {
    parseReference(value);
  } catch (err) {
    if (!isBaleError(err, 'E_REFERENCE')) throw err;
    throw new UsageError(
      `${option}: ${err.message}`,
      err.hint ?? 'Give a pullspec like quay.io/org/repo:tag or …@sha256:<hex>.',
    );
  }
}
