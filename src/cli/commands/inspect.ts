import { loadKeyring } from '../../signature/keyring.js';
import { loadSigstoreKey } from '../../signature/sigstore-key.js';
import YAML from 'yaml';
import { renderCsv, renderTable } from '../inspect-render.js';
import {
  bundleDirArgument,
  keyringOption,
  renderer,
  sigstoreKeyOption,
  stringList,
  withExamples,
  writeJson,
} from '../common.js';
import { assertBundleDir } from './verify.js';
import { safeLines } from '../safe-text.js';
import { sigstoreLines, trustLines } from '../trust-report.js';
import type { Command } from './types.js';
import { abortable } from '../../abortable.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'csv'] as const;

export const inspectCommand: Command = {
  command: 'inspect <bundle-dir>',
  describe: 'Show what a bundle holds: release, images, volumes, signatures, graph-data, manifests',
  builder: (y) =>
    withExamples(
      bundleDirArgument(y.options(sigstoreKeyOption))
        .option('output', {
          alias: 'o',
          choices: OUTPUT_FORMATS,
          default: 'table',
          description:
            'table for people, json/yaml for tools, csv one row per image (--json is --output json)',
        })
        .option('deep', {
          type: 'boolean',
          default: false,
          description: 'Also read every volume and check the signatures (a full verify); exit 1 on problems',
        })
        .options(keyringOption('for --deep')),
      [
        ['inspect /media/usb/bale', 'What is on the disk, from bundle.json (fast)'],
        [
          'inspect /media/usb/bale --deep --keyring my-release-key.asc',
          'Read every volume and check the signatures too',
        ],
        ['inspect /media/usb/bale -o csv > images.csv', 'One row per image, for a spreadsheet'],
      ],
    ),
  handler: async (args, ctx) => {
    const dir = String(args['bundle-dir']);
    await assertBundleDir(dir);
    const format = args.json ? 'json' : String(args.output ?? 'table');
    const deep = Boolean(args.deep);
    const keyrings = await Promise.all(stringList(args.keyring).map((p) => loadKeyring(p)));
    const sigstoreKeys = await Promise.all(stringList(args['sigstore-key']).map((p) => loadSigstoreKey(p)));
    const progress = deep ? renderer({ ...args, json: format !== 'table' || args.json }, ctx) : undefined;
    try {
      // On SIGINT/SIGTERM stop at once (inspect only reads, so there is nothing to wind down);
      // the signal also stops the deep verification's reads.
      const report = await abortable(
        (await import('../../workflows/inspect/index.js')).inspectBundle(dir, {
          deep,
          ...(keyrings.length ? { keyrings } : {}),
          ...(sigstoreKeys.length ? { sigstoreKeys } : {}),
          ...(progress ? { progress } : {}),
          signal: ctx.signal,
        }),
        ctx.signal,
      );
      progress?.stop();
      const ok = report.verification?.ok ?? true;
      if (format === 'json') writeJson(ctx, { ok, ...report });
      else if (format === 'yaml') ctx.stdout.write(YAML.stringify({ ok, ...report }));
      else if (format === 'csv') ctx.stdout.write(safeLines(renderCsv(report)));
      else {
        // Strings from the media are shown with their control characters made visible.
        ctx.stdout.write(safeLines(renderTable(report)));
        const sig = sigstoreLines(report.sigstore, { recorded: !deep });
        if (sig.length > 0) ctx.stdout.write(`${sig.join('\n')}\n`);
        const trust = report.verification?.trust;
        if (trust) ctx.stdout.write(`${trustLines(trust).join('\n')}\n`);
      }
      return ok ? 0 : 1;
    } finally {
      progress?.stop();
    }
  },
};
