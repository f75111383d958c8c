import { stat } from 'node:fs/promises';
import { BaleError } from '../../errors.js';
import { baseSummary, describeBase } from '../../bundle/base-schema.js';
import type { Problem } from '../../bundle/problem.js';
import { releasesOf, type BundleRelease } from '../../bundle/index-schema.js';
import type { VerifyReport } from '../../workflows/verify/index.js';
import {
  bundleDirArgument,
  bundleTrustOptions,
  renderer,
  sigstoreKeyOption,
  stringList,
  withExamples,
  writeJson,
} from '../common.js';
import { formatBytes, formatDuration } from '../format.js';
import { safeText, shellCommand } from '../safe-text.js';
import { sigstoreLines, trustLines } from '../trust-report.js';
import type { Command } from './types.js';
import { abortable } from '../../abortable.js';

export const verifyCommand: Command = {
  command: 'verify <bundle-dir>',
  describe: 'Check a bundle without trusting it: checksums, every entry, completeness, signatures',
  builder: (y) =>
    withExamples(
      bundleDirArgument(y.options(sigstoreKeyOption))
        .options(
          bundleTrustOptions('Accept content no signature anchors (reported as unsigned) instead of failing'),
        )
        .option('volume', {
          type: 'array',
          string: true,
          description: 'Check only these volumes (repeatable, e.g. volume-002.tar.zst)',
        }),
      [
        ['verify /media/usb/bale', 'Check the whole bundle (signatures against Red Hat release key 2)'],
        [
          'verify /media/usb/bale --volume volume-003.tar.zst',
          'Check one volume as it is written or received',
        ],
        [
          'verify ./bundle --keyring my-release-key.asc --json > report.json',
          'A report for tools, with your own keyring',
        ],
      ],
    ),
  handler: async (args, ctx) => {
    const dir = String(args['bundle-dir']);
    await assertBundleDir(dir);
    const started = Date.now();
    const progress = renderer(args, ctx);
    const volumes = stringList(args.volume);
    const allowUnsigned = Boolean(args['allow-unsigned']);
    // On SIGINT/SIGTERM stop at once (verify only reads, so there is nothing to wind down);
    // the signal also stops the reads themselves.
    const report = await abortable(
      (await import('../../workflows/verify/index.js')).verify(dir, {
        keyringPaths: stringList(args.keyring),
        indexKeyringPaths: stringList(args['index-keyring']),
        allowUnsigned,
        sigstoreKeyPaths: stringList(args['sigstore-key']),
        volumes,
        progress,
        signal: ctx.signal,
      }),
      ctx.signal,
    );
    progress.stop();
    if (args.json) {
      const { index: _index, clusterFiles: _files, release: _release, releases: _payloads, ...rest } = report;
      const releases = releaseList(report);
      const base = report.index ? baseSummary(report.index) : undefined;
      writeJson(ctx, {
        ...rest,
        releases,
        allowUnsigned,
        bundleDir: dir,
        incremental: base !== undefined,
        ...(base ? { base } : {}),
        durationMs: Date.now() - started,
      });
      return report.ok ? 0 : 1;
    }
    const c = report.checked;
    const out: string[] = [];
    const base = report.index ? baseSummary(report.index) : undefined;
    if (report.ok) {
      out.push(
        `OK: ${safeText(dir)}: ${c.volumes} volume(s), ${c.entries} entries, ${formatBytes(c.bytes)}, ${c.manifests} manifests, ${c.tags} tags, ${c.signatures} signature(s) verified, in ${formatDuration(Date.now() - started)}`,
      );
      for (const r of releaseList(report)) {
        out.push(
          safeText(`  release ${r.version} (${r.architecture}) ${r.digest} as ${r.repository}:${r.tag}`),
        );
      }
      for (const s of report.signatures) {
        out.push(
          safeText(
            `  ${s.kind} signature ${s.path}: key ${s.keyId ?? '?'}${s.userId ? ` (${s.userId})` : ''}${s.identity ? ` for ${s.identity}` : ''}`,
          ),
        );
      }
      if (base) out.push(safeText(`  ${describeBase(base, formatBytes)}`));
      out.push(...sigstoreLines(report.sigstore));
      if (report.trust) out.push(...trustLines(report.trust));
      out.push(
        volumes.length
          ? `Checked ${volumes.join(', ')} only; run ${shellCommand(['bale', 'verify', dir])} without --volume once all volumes are there.`
          : `Next: on the disconnected side, ${shellCommand(['bale', 'unpack', dir])} --to <mirror-registry>/<prefix> (it verifies again first).`,
      );
      ctx.stdout.write(`${out.join('\n')}\n`);
      return 0;
    }
    out.push(`FAILED: ${safeText(dir)}: ${report.problems.length} problem(s)`);
    if (base) out.push(safeText(`  ${describeBase(base, formatBytes)}`));
    for (const p of report.problems) out.push(`  ${safeText(describeProblem(p))}`);
    out.push(...sigstoreLines(report.sigstore));
    if (report.trust) out.push(...trustLines(report.trust));
    out.push(problemAdvice(report.problems));
    ctx.stdout.write(`${out.join('\n')}\n`);
    return 1;
  },
};

/** Every release the bundle carries (bundle.json order), for the report. */
function releaseList(report: VerifyReport): BundleRelease[] {
  return report.index ? releasesOf(report.index) : [];
}

export async function assertBundleDir(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new BaleError(
      'E_USAGE',
      `${dir} is not a bundle directory (it does not exist or is not a directory)`,
      {
        hint: 'Name the directory that holds bundle.json, SHA256SUMS and the volume-NNN.tar.zst files.',
      },
    );
  }
}

/** `where: what [CODE]`, naming each place once (messages often name the entry already). */
export function describeProblem(p: Problem): string {
  const where = [p.file, p.volume, p.entry ?? p.digest].filter(
    (w): w is string => Boolean(w) && !p.message.includes(w as string),
  );
  return `${where.length ? `${where.join(': ')}: ` : ''}${p.message} [${p.code}]`;
}

const SIGNATURE_ONLY: ReadonlySet<string> = new Set([
  'E_UNANCHORED',
  'E_SIGNATURE_UNTRUSTED',
  'E_SIGNATURE_NONE',
  'E_KEYRING',
]);

/** What to do, for the kinds of problems found. */
export function problemAdvice(problems: Problem[]): string {
  if (problems.length > 0 && problems.every((p) => SIGNATURE_ONLY.has(p.code))) {
    return (
      'The content checks out, but not all of it is anchored to a trusted signature: give the key that signs your ' +
      'releases with --keyring, the key that signed bundle.json with --index-keyring, or accept unsigned content ' +
      'explicitly with --allow-unsigned (bale verify-signature shows who signed a file).'
    );
  }
  return 'Do not unpack this bundle; get an intact copy (bale verify --volume NAME checks single volumes).';
}
