import { openBundle } from '../../bundle/open-bundle.js';
import { verifyBundle, type EntryTap, type VerifyReport } from '../../bundle/verify-bundle.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { loadKeyring, loadKeyrings, type Keyring } from '../../signature/keyring.js';
import { loadSigstoreKey, type SigstoreKey } from '../../signature/sigstore-key.js';
import type { UnpackOptions } from './options.js';
import type { BundlePush } from './registry-push.js';
import type { UploadState } from './upload-state.js';

export interface UnpackKeyrings {
  keyrings: Keyring[];
  indexKeyrings?: Keyring[];
  /** Sigstore public keys; absent: the shipped Red Hat key. */
  sigstoreKeys?: SigstoreKey[];
}

export async function loadUnpackKeyrings(o: UnpackOptions): Promise<UnpackKeyrings> {
  const keyrings = await loadKeyrings(o.keyrings);
  const out: UnpackKeyrings = { keyrings };
  if (o.sigstoreKeys?.length)
    out.sigstoreKeys = await Promise.all(o.sigstoreKeys.map((p) => loadSigstoreKey(p)));
  if (o.indexKeyrings?.length)
    out.indexKeyrings = await Promise.all(o.indexKeyrings.map((p) => loadKeyring(p)));
  return out;
}

/**
 * One pass (blobs pushed while verify reads) unless it is not asked for or pointless:
 * --to-dir reads the volumes again anyway; and when the run will act on a trust decision
 * (applying to the cluster, or a bundle signature the user requires), that decision is
 * taken on the audited bundle before anything is sent.
 */
export function singlePassWanted(o: UnpackOptions, hasMirror: boolean): boolean {
  return (
    hasMirror &&
    !o.verifyFirst &&
    !o.dryRun &&
    !o.toDir &&
    !o.applyManifests &&
    !o.applyReleaseImageSignature &&
    !(o.indexKeyrings?.length ?? 0)
  );
}

/**
 * Verifies the whole bundle; with `push` (one pass), blobs go to the mirror as they are
 * read. From here on only what was verified is acted on: a bundle that fails is
 * E_VERIFY_FAILED, and the message says what reached the mirror (blobs only, never a
 * manifest or tag).
 */
export async function verifyPhase(
  o: UnpackOptions,
  dir: string,
  keys: UnpackKeyrings,
  progress: Progress,
  push: BundlePush | undefined,
  uploads: UploadState,
): Promise<VerifyReport> {
  let tap: EntryTap | undefined;
  if (push) {
    // The index as read and checked decides what may be pushed; a bundle whose index
    // cannot be opened is left to verify, which names every problem, and nothing is sent.
    const bundle = await openBundle(dir).catch(() => undefined);
    if (bundle) tap = await push.prepare(bundle, uploads);
  }
  let report: VerifyReport;
  try {
    report = await verifyBundle(dir, {
      ...keys,
      allowUnsigned: Boolean(o.allowUnsigned),
      progress,
      ...(tap ? { tap } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    await push?.abandon(false);
    throw err;
  }
  if (report.ok && report.index !== undefined) return report;
  if (o.signal?.aborted) {
    // Interrupted, not failed: the upload sessions stay recorded for the next run.
    await push?.abandon(false);
    o.signal.throwIfAborted();
  }
  const sent = (await push?.abandon(true)) ?? 0;
  const first = report.problems
    .slice(0, 5)
    .map((p) => `${p.volume ? `${p.volume}: ` : ''}${p.entry ? `${p.entry}: ` : ''}${p.message} [${p.code}]`);
  const pushed =
    sent > 0
      ? `No manifest and no tag was pushed, so no image of this bundle is visible in ${o.to ?? 'the mirror'}; the ${sent} blob(s) already sent are unreferenced there (the registry's garbage collection removes them; a run with an intact copy finds them present), uploads under way were cancelled.`
      : 'Nothing was pushed or applied.';
  throw new BaleError(
    'E_VERIFY_FAILED',
    `the bundle in ${dir} failed verification (${report.problems.length} problem(s)): ${first.join('; ')}`,
    {
      hint: `${pushed} Run bale verify for the full list; get an intact copy of the bundle, or give the right --keyring / --index-keyring (--allow-unsigned accepts unsigned content explicitly).`,
      details: { problems: report.problems, blobsSent: sent },
    },
  );
}
