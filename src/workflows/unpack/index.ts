/**
 * `bale unpack`: a coordinator of named phases, each in a file beside this one.
 *
 *  1. verify (verify-phase.ts), with the blobs going to the mirror while the volumes are
 *     read (registry-push.ts: one pass; `--verify-first` and `--dry-run`: two)
 *  2. the mirror (mirror-phase.ts): an incremental bundle's base checked there first
 *     (check-base.ts), then manifests and tags once everything verified (mirror-target.ts)
 *  3. oc's directory layout (dir-unpack.ts), completed from --base-dir (check-base.ts)
 *  4. the ConfigMaps and mirror configuration (manifest-files.ts, cluster-output.ts)
 *  5. apply to the cluster (apply-step.ts)
 *  6. what to do next (next-steps.ts)
 */
import { resolve } from 'node:path';
import { abortable } from '../../abortable.js';
import { acquireLock, type Lock } from '../../bundle/lock.js';
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import { BaleError, isBaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import { makeSafeDir } from '../../safe-write.js';
import { silentProgress } from '../../progress.js';
import { applyPlan } from './apply-step.js';
import { checkBaseInDir, completeFromBaseDir, precheckBase } from './check-base.js';
import { ConfinedDirWriter } from './dir-writer.js';
import { unpackToDir } from './dir-unpack.js';
import { applyPlanFor, outputFiles, writeManifestFiles } from './manifest-files.js';
import { mirrorPhase } from './mirror-phase.js';
import { destinationOf, openMirror } from './mirror-target.js';
import { nextSteps } from './next-steps.js';
import type { UnpackOptions, UnpackResult } from './options.js';
import { initialResult } from './unpack-result.js';
import { UploadState } from './upload-state.js';
import { loadUnpackKeyrings, singlePassWanted, verifyPhase } from './verify-phase.js';

export type { UnpackOptions, UnpackResult } from './options.js';
export { defaultStateDir } from './upload-state.js';

export async function unpack(o: UnpackOptions): Promise<UnpackResult> {
  // Two unpacks into one --to-dir at once would race on the same files: lock it.
  let lock: Lock | undefined;
  if (o.toDir && !o.dryRun && o.lockOwner) {
    // No symlinked component: the lock and everything after it are written inside.
    await makeSafeDir(o.toDir).catch((err: NodeJS.ErrnoException) => {
      throw isBaleError(err) ? err : ioError(err, o.toDir ?? '');
    });
    lock = await acquireLock(o.toDir, o.lockOwner);
  }
  try {
    return await abortable(unpackUnlocked(o), o.signal);
  } catch (err) {
    if (o.signal?.aborted) {
      throw new BaleError('E_INTERRUPTED', 'unpack interrupted', {
        hint: 'Everything pushed or written so far is complete and verified: run the same command again to continue.',
        details: { signal: (o.signal.reason as BaleError | undefined)?.details?.signal },
      });
    }
    throw err;
  } finally {
    await lock?.release();
  }
}

async function unpackUnlocked(o: UnpackOptions): Promise<UnpackResult> {
  const started = Date.now();
  const progress = o.progress ?? silentProgress;
  const dir = resolve(o.bundleDir);
  const dest = destinationOf(o, progress);
  const keys = await loadUnpackKeyrings(o);
  const mirror = dest ? await openMirror(o, dest, progress) : undefined;
  let result: UnpackResult;
  let bundle: OpenedBundle | undefined;
  let files: ReturnType<typeof outputFiles>;
  let plan: ReturnType<typeof applyPlanFor>;
  try {
    // 1. Verify everything (one pass: pushing blobs on the way); from here on only what was verified is acted on.
    const singlePass = singlePassWanted(o, mirror !== undefined);
    // An incremental bundle's base, before the single pass sends anything: HEAD only, from
    // bundle.json as read (checked again, and mounted, once the bundle verified).
    if (mirror && dest) await precheckBase(dir, mirror.client, dest, o, progress);
    const uploads = await UploadState.open(singlePass ? o.stateDir : undefined, (m) => progress.warn(m));
    const report = await verifyPhase(o, dir, keys, progress, singlePass ? mirror?.push : undefined, uploads);
    result = initialResult(o, report, progress);
    bundle = report.bundle;
    files = outputFiles(report, dest, Boolean(o.icsp));
    plan = applyPlanFor(files, o, report.trust?.index.state === 'signed');
    // An incremental bundle's base in --base-dir: checked before anything is pushed or written.
    if (o.toDir && report.index) await checkBaseInDir(report.index, o.baseDir);
    // 2. The mirror: base, blobs (two passes), manifests children first, then tags.
    if (mirror && dest) Object.assign(result, await mirrorPhase(o, mirror, dest, report, progress));
  } finally {
    await mirror?.close();
  }
  // 3. oc's directory layout.
  if (o.toDir && !o.dryRun && bundle) {
    result.toDir = await unpackToDir({ bundle, dir: o.toDir, progress, signal: o.signal });
    const index = bundle.index;
    if (index.base && o.baseDir)
      result.toDir.base = await completeFromBaseDir(index, o.baseDir, new ConfinedDirWriter(o.toDir));
  }
  // 4. The ConfigMaps and mirror configuration.
  if (!o.dryRun) {
    const written = await writeManifestFiles(o.manifestsToDir, files);
    result.manifestFiles = written.paths;
    result.manifestsDir = written.dir;
  }
  // 5. Apply to the cluster, after the images are in place.
  if (plan.objects.length > 0) await applyPlan(o, plan, result, progress);
  // 6. What to do next.
  result.nextSteps = nextSteps(o, result, bundle?.index);
  result.durationMs = Date.now() - started;
  return result;
}
