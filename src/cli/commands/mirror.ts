import type { MirrorResult } from '../../workflows/mirror/index.js';
import {
  destTlsVerifyOption,
  imageSetArgs,
  imageSetOptions,
  kubeconfigOption,
  registryArgs,
  registryOptions,
  releaseSignatureOptions,
  renderer,
  stringList,
  withExamples,
  writeJson,
} from '../common.js';
import { formatBytes } from '../format.js';
import { renderPlan } from './plan.js';
import type { Command } from './types.js';

export const mirrorCommand: Command = {
  command: 'mirror',
  describe:
    'Registry to registry for a partially connected site: verify the release signatures, then copy what the destination lacks (a dry run unless --confirm)',
  builder: (y) =>
    withExamples(
      y
        .options(registryOptions('src'))
        .options(imageSetOptions)
        .option('to', {
          type: 'string',
          demandOption: true,
          description: 'Destination, <registry>[/<prefix>]',
        })
        .options(destTlsVerifyOption)
        .options(releaseSignatureOptions)
        .option('confirm', {
          type: 'boolean',
          default: false,
          description: 'Copy; without it, print the plan and change nothing',
        })
        .option('release-image-signature-to-dir', {
          type: 'string',
          description: 'Write the release signature ConfigMap here',
        })
        .option('manifests-to-dir', {
          type: 'string',
          description: 'Write the signature ConfigMap and the ImageDigestMirrorSet here',
        })
        .option('apply-release-image-signature', {
          type: 'boolean',
          description: 'Apply the release signature ConfigMap to the cluster',
        })
        .option('apply-manifests', {
          type: 'boolean',
          description: 'Apply the signature ConfigMap and the ImageDigestMirrorSet to the cluster',
        })
        .option('overwrite', { type: 'boolean', description: 'Update cluster objects that exist and differ' })
        .option('dry-run', {
          type: 'boolean',
          description: 'Server-side dry run of the apply; write no files',
        })
        .options(kubeconfigOption),
      [
        [
          'mirror --release "$RELEASE" --to mirror.example.com:5000/ocp4',
          'What would be copied (verifies the signatures, writes nothing)',
        ],
        [
          'mirror --release "$RELEASE" --to mirror.example.com:5000/ocp4 --confirm --apply-release-image-signature',
          'Copy, then apply the signature ConfigMap',
        ],
      ],
    ),
  handler: async (args, ctx) => {
    const progress = renderer(args, ctx);
    const result = await (
      await import('../../workflows/mirror/index.js')
    ).mirror({
      ...imageSetArgs(args),
      to: String(args.to),
      keyrings: stringList(args.keyring),
      signatureStores: stringList(args['signature-store']),
      confirm: Boolean(args.confirm),
      ...registryArgs(args, ctx),
      srcTlsVerify: args['src-tls-verify'] as boolean,
      destTlsVerify: args['dest-tls-verify'] as boolean,
      releaseImageSignatureToDir: args['release-image-signature-to-dir'] as string | undefined,
      manifestsToDir: args['manifests-to-dir'] as string | undefined,
      applyReleaseImageSignature: Boolean(args['apply-release-image-signature']),
      applyManifests: Boolean(args['apply-manifests']),
      overwrite: Boolean(args.overwrite),
      dryRun: Boolean(args['dry-run']),
      kubeconfig: args.kubeconfig as string | undefined,
      progress,
    });
    progress.stop();
    const code = result.cluster?.failed ? 1 : 0;
    if (args.json) writeJson(ctx, { ok: code === 0, ...result });
    else ctx.stdout.write(renderMirror(result));
    return code;
  },
};

function renderMirror(r: MirrorResult): string {
  const out: string[] = [renderPlan(r.plan).trimEnd()];
  out.push(
    '',
    `Signatures verified: ${r.signatures.release} of the release, ${r.signatures.graphData} of the graph-data image`,
  );
  const c = r.copied;
  if (c === undefined) {
    out.push('Dry run: nothing was written. Re-run with --confirm to copy.');
  } else {
    out.push(
      `Copied ${c.images} image(s): ${c.blobsUploaded} blob(s) uploaded (${formatBytes(c.bytesUploaded)}), ${c.blobsMounted} mounted, ${c.blobsPresent} already there; ${c.manifests} manifest(s), ${c.tags} tag(s)`,
    );
  }
  for (const f of r.cluster?.files ?? []) out.push(`  wrote ${f}`);
  for (const a of r.cluster?.applied ?? []) {
    out.push(
      `  ${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}: ${a.action}${a.message ? ` (${a.message})` : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}
