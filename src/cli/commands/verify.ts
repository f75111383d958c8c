import { stat } from 'node:fs/promises';
import { BaleError } from '../../errors.js';
import { loadKeyring } from '../../signature/keyring.js';
import { verifyBundle } from '../../workflows/verify.js';
import { renderer, stringList, writeJson } from '../common.js';
import { formatBytes } from '../format.js';
import type { Command } from './types.js';

export const verifyCommand: Command = {
  command: 'verify <bundle-dir>',
  describe: 'Check a bundle without trusting it: checksums, every entry, completeness, signatures',
  builder: (y) =>
    y
      .positional('bundle-dir', { type: 'string', describe: 'The bundle directory' })
      .option('keyring', {
        type: 'array',
        string: true,
        description: 'OpenPGP keyring for the signatures and bundle.json.asc (repeatable). Default: Red Hat release key 2',
      })
      .option('volume', { type: 'array', string: true, description: 'Check only these volumes (e.g. volume-002.tar.zst)' })
      .example('$0 verify /media/usb/bale', 'Check the whole bundle')
      .example('$0 verify /media/usb/bale --volume volume-003.tar.zst', 'Check one volume as it is written or received')
      .example('$0 verify ./bundle --keyring my-release-key.asc --json', 'A report for tools'),
  handler: async (args, ctx) => {
    const dir = String(args['bundle-dir']);
    await assertBundleDir(dir);
    const progress = renderer(args, ctx);
    const keyrings = await Promise.all(stringList(args.keyring).map((p) => loadKeyring(p)));
    const volumes = stringList(args.volume);
    const report = await verifyBundle(dir, {
      keyrings: keyrings.length ? keyrings : undefined,
      volumes: volumes.length ? volumes : undefined,
      progress,
    });
    progress.stop();
    if (args.json) {
      const { index: _index, ...rest } = report;
      writeJson(ctx, { ...rest, bundleDir: dir });
      return report.ok ? 0 : 1;
    }
    const c = report.checked;
    if (report.ok) {
      ctx.stdout.write(
        `OK: ${dir}: ${c.volumes} volume(s), ${c.entries} entries, ${formatBytes(c.bytes)}, ${c.manifests} manifests, ${c.tags} tags, ${c.signatures} signature(s) verified\n`,
      );
      for (const s of report.signatures) {
        ctx.stdout.write(`  ${s.kind} signature ${s.path}: key ${s.keyId ?? '?'}${s.userId ? ` (${s.userId})` : ''}${s.identity ? ` for ${s.identity}` : ''}\n`);
      }
      return 0;
    }
    ctx.stdout.write(`FAILED: ${dir}: ${report.problems.length} problem(s)\n`);
    for (const p of report.problems) {
      const where = [p.file, p.volume, p.entry ?? p.digest].filter(Boolean).join(': ');
      ctx.stdout.write(`  ${where ? `${where}: ` : ''}${p.message} [${p.code}]\n`);
    }
    ctx.stdout.write('Do not unpack this bundle; get an intact copy (bale verify --volume NAME checks single volumes).\n');
    return 1;
  },
};

export async function assertBundleDir(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new BaleError('E_USAGE', `${dir} is not a bundle directory (it does not exist or is not a directory)`, {
      hint: 'Name the directory that holds bundle.json, SHA256SUMS and the volume-NNN.tar.zst files.',
    });
  }
}
