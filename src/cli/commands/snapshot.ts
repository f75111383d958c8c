import { loadKeyring } from '../../signature/keyring.js';
import { renderSnapshotCsv, renderSnapshotYaml } from '../../sets/snapshot-document.js';
import { UsageError } from '../errors.js';
import {
  keyringOption,
  registryArgs,
  registryOptions,
  renderer,
  stringList,
  withExamples,
  writeJson,
} from '../common.js';
import { assertBundleDir } from './verify.js';
import type { Command } from './types.js';

export const SNAPSHOT_FORMATS = ['yaml', 'csv'] as const;

export const snapshotCommand: Command = {
  command: 'snapshot [registry]',
  describe: 'Print what a registry (or a bundle) holds: every repository, tag and digest, as images.yaml',
  builder: (y) =>
    withExamples(
      y
        .options(registryOptions('dest'))
        .positional('registry', { type: 'string', describe: 'The registry, <registry>[/<prefix>]' })
        .option('bundle', {
          type: 'string',
          description: 'Snapshot a bundle directory instead (offline, from its checksummed bundle.json)',
        })
        .option('repository', {
          type: 'array',
          string: true,
          description:
            'Repository to list, relative to the prefix (repeatable); for registries whose catalog is disabled or not allowed',
        })
        .option('minimal', {
          type: 'boolean',
          default: false,
          description: 'Leave out the untagged children of manifest lists',
        })
        .option('output', {
          alias: 'o',
          choices: SNAPSHOT_FORMATS,
          default: 'yaml',
          description: "yaml: the promoter's images.yaml shape; csv: name,digest,tag, one row per tag",
        })
        .option('verify', {
          type: 'boolean',
          default: false,
          description: 'With --bundle: verify the whole bundle first (every volume, signatures)',
        })
        .options(keyringOption('for --verify')),
      [
        ['snapshot mirror.example.com:5000/ocp4 > mirror-snapshot.yaml', 'What the mirror holds under ocp4/'],
        [
          'snapshot quay.example.com/ocp4 --repository openshift/release -o csv',
          'One repository of a registry without a catalog, as CSV',
        ],
        ['snapshot --bundle /media/usb/bale', 'What a bundle carries (offline)'],
      ],
    ),
  handler: async (args, ctx) => {
    const registry = args.registry as string | undefined;
    const bundleDir = args.bundle as string | undefined;
    if ((registry === undefined) === (bundleDir === undefined)) {
      throw new UsageError(
        'name a registry or --bundle DIR (one of them)',
        'bale snapshot mirror.example.com:5000/ocp4, or bale snapshot --bundle /media/usb/bale.',
      );
    }
    if (bundleDir !== undefined) await assertBundleDir(bundleDir);
    const keyrings = await Promise.all(stringList(args.keyring).map((p) => loadKeyring(p)));
    const progress = renderer(args, ctx);
    const result = await (
      await import('../../workflows/snapshot/index.js')
    ).snapshot({
      ...(registry !== undefined ? { registry } : {}),
      ...(bundleDir !== undefined ? { bundleDir } : {}),
      repositories: stringList(args.repository),
      minimal: Boolean(args.minimal),
      verifyBundle: Boolean(args.verify),
      ...(keyrings.length > 0 ? { keyrings } : {}),
      ...registryArgs(args, ctx),
      tlsVerify: args['dest-tls-verify'] as boolean,
      progress,
    });
    progress.stop();
    if (args.json) writeJson(ctx, { ok: true, source: result.source, images: result.document });
    else if (args.output === 'csv') ctx.stdout.write(renderSnapshotCsv(result.document));
    else ctx.stdout.write(renderSnapshotYaml(result.document));
    return 0;
  },
};
