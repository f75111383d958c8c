import { parseSize } from '../../bundle/parse-size.js';
import type { PlanEntry, PlanResult } from '../../workflows/plan/index.js';
import {
  destTlsVerifyOption,
  imageSetArgs,
  imageSetOptions,
  registryArgs,
  registryOptions,
  renderer,
  volumeSizeOption,
  withExamples,
  writeJson,
} from '../common.js';
import { formatBytes, table } from '../format.js';
import type { Command } from './types.js';

export const planCommand: Command = {
  command: 'plan',
  describe:
    'Dry run: what a pack would carry to a destination (live or a snapshot), what is there, what is missing',
  builder: (y) =>
    withExamples(
      y
        .options(registryOptions('src'))
        .options(imageSetOptions)
        .option('to', {
          type: 'string',
          description: 'Destination, <registry>[/<prefix>], asked live',
        })
        .option('have', {
          type: 'string',
          description:
            'Snapshot of the destination (bale snapshot output: YAML, CSV or JSON) instead of asking it',
        })
        .options(destTlsVerifyOption)
        .options(volumeSizeOption('Volume size of the bundle, for the disk estimate'))
        .option('strict', {
          type: 'boolean',
          default: false,
          description: 'Exit 1 when an image is missing',
        }),
      [
        [
          'plan --release quay.io/openshift-release-dev/ocp-release:4.18.2-x86_64 --have snap.yaml',
          'What a pack would carry to the mirror a snapshot describes',
        ],
        [
          'plan --release "$RELEASE" --to mirror.example.com:5000/ocp4 --strict --json',
          'Ask the mirror itself; exit 1 when an image is nowhere; for tools',
        ],
      ],
    ),
  handler: async (args, ctx) => {
    const progress = renderer(args, ctx);
    const result = await (
      await import('../../workflows/plan/index.js')
    ).plan({
      ...imageSetArgs(args),
      to: args.to as string | undefined,
      have: args.have as string | undefined,
      volumeSize: parseSize(String(args['volume-size'])),
      ...registryArgs(args, ctx),
      srcTlsVerify: args['src-tls-verify'] as boolean,
      destTlsVerify: args['dest-tls-verify'] as boolean,
      progress,
    });
    progress.stop();
    const code = args.strict && result.missing.length > 0 ? 1 : 0;
    if (args.json) writeJson(ctx, { ok: code === 0, ...result });
    else ctx.stdout.write(renderPlan(result));
    return code;
  },
};

export function renderPlan(r: PlanResult): string {
  const out: string[] = [];
  const rel = r.release;
  out.push(
    `Plan${rel ? ` for OpenShift ${rel.version} (${rel.architecture}) ${rel.digest}` : ''} to ${r.destination.where} (${r.destination.kind === 'live' ? 'asked live' : 'snapshot'})`,
  );
  const size = (t: PlanResult['totals']['copy']): string =>
    `${formatBytes(t.bytes)}${t.unknownSize ? ` (+${t.unknownSize} of unknown size)` : ''}`;
  out.push(`  present  ${r.totals.present.images} image(s), ${size(r.totals.present)}: nothing to carry`);
  out.push(
    `  copy     ${r.totals.copy.images} image(s), ${size(r.totals.copy)}: ${r.blobs.carry} blob(s) to carry, ${formatBytes(r.blobs.carryBytes)}; ${r.blobs.skip} blob(s), ${formatBytes(r.blobs.skipBytes)}, already at the destination`,
  );
  out.push(`  missing  ${r.totals.missing.images} image(s): neither the source nor the destination has them`);
  out.push(
    `  a bundle of the copy: volumes up to ${formatBytes(r.bundle.volumeBytes)}, disk needed while packing up to ${formatBytes(r.bundle.diskNeeded)}`,
  );
  const rows = (state: string, list: PlanEntry[]): string[][] =>
    list.map((e) => [
      state,
      `${e.name}@${e.digest.slice(0, 19)}`,
      e.tags.join(',') + (e.tagsToAdd ? ` (to tag: ${e.tagsToAdd.join(',')})` : ''),
      e.bytes === undefined ? '?' : formatBytes(e.bytes),
    ]);
  const all = [...rows('missing', r.missing), ...rows('copy', r.copy), ...rows('present', r.present)];
  if (all.length) out.push('', table(['STATE', 'IMAGE', 'TAGS', 'SIZE'], all).trimEnd());
  if (r.mapping.length) out.push('', 'Mapping (src=dst):', ...r.mapping.map((m) => `  ${m}`));
  return `${out.join('\n')}\n`;
}
