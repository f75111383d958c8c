/**
 * `bale unpack`: a coordinator of named phases, each in a file beside this one.
 *
 *  1. verify (verify-phase.ts), with the blobs going to the mirror while the volumes are
 *     read (registry-push.ts: one pass; `--verify-first` and `--dry-run`: two)
 *  2. the mirror: an incremental bundle's base checked there first (check-base.ts), then
 *     manifests and tags once everything verified (mirror-target.ts)
 *  3. oc's directory layout (dir-unpack.ts), completed from --base-dir (check-base.ts)
 *  4. the ConfigMaps and mirror configuration (manifest-files.ts, cluster-output.ts)
 *  5. apply to the cluster (apply-step.ts)
 *  6. what to do next (next-steps.ts)
 */
import { resolve } from 'node:path';
import { abortable } from '../../abortable.js';
import { acquireLock, type Lock } from '../../bundle/lock.js';
import { releasesOf } from '../../bundle/index-schema.js';
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import type { VerifyReport } from '../../bundle/verify-bundle.js';
import { BaleError, isBaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import { makeSafeDir } from '../../safe-write.js';
import { silentProgress, type Progress } from '../../progress.js';
import { parseRegistryTarget } from '../../registry/registry-target.js';
import { applyPlan } from './apply-step.js';
import { checkBaseInDir, checkBaseInRegistry, completeFromBaseDir, precheckBase } from './check-base.js';
import { ConfinedDirWriter } from './dir-writer.js';
import { unpackToDir } from './dir-unpack.js';
import { applyPlanFor, outputFiles, writeManifestFiles } from './manifest-files.js';
import { openMirror } from './mirror-target.js';
import { nextSteps } from './next-steps.js';
import type { UnpackOptions, UnpackResult } from './options.js';
import { destRepository, type Destination } from './registry-push.js';
import { UploadState } from './upload-state.js';
import { loadUnpackKeyrings, verifyPhase } from './verify-phase.js';

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
    // Two passes (nothing sent before the audit ends) when single-pass is not asked for or
    // pointless: --to-dir reads the volumes again anyway; and when the run will act on a
    // trust decision (applying to the cluster, or a bundle signature the user requires),
    // that decision is taken on the audited bundle before anything is sent.
    const singlePass =
      mirror !== undefined &&
      !o.verifyFirst &&
      !o.dryRun &&
      !o.toDir &&
      !o.applyManifests &&
      !o.applyReleaseImageSignature &&
      !(o.indexKeyrings?.length ?? 0);
    // An incremental bundle's base, before the single pass sends anything: HEAD only, from
    // bundle.json as read (checked again, and mounted, once the bundle verified).
    if (mirror && dest) await precheckBase(dir, mirror.client, dest, o, progress);
    const uploads = await UploadState.open(singlePass ? o.stateDir : undefined, (m) => progress.warn(m));
    const report = await verifyPhase(o, dir, keys, progress, singlePass ? mirror.push : undefined, uploads);
    result = initialResult(o, report, progress);
    bundle = report.bundle;
    files = outputFiles(report, dest, Boolean(o.icsp));
    plan = applyPlanFor(files, o, report.trust?.index.state === 'signed');
    // An incremental bundle's base in --base-dir: checked before anything is pushed or written.
    if (o.toDir && report.index) await checkBaseInDir(report.index, o.baseDir);
    // 2. The mirror: the base first (nothing pushed if any of it is missing), then blobs
    //    (two passes), then manifests children first, then tags.
    if (mirror && dest) {
      const base =
        report.index &&
        (await checkBaseInRegistry({
          index: report.index,
          client: mirror.client,
          dest,
          concurrency: o.concurrency ?? 8,
          dryRun: Boolean(o.dryRun),
          progress,
          ...(o.signal ? { signal: o.signal } : {}),
        }));
      result.push = { ...(await mirror.finish(report)), ...(base ? { base } : {}) };
      result.releases = releasesOf(report.index ?? { releases: [] }).map((r) => ({
        version: r.version,
        digest: r.digest,
        mirror: mirrorReference(dest, r),
      }));
      const last = result.releases.at(-1);
      if (last) result.release = last;
    }
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

function destinationOf(o: UnpackOptions, progress: Progress): Destination | undefined {
  if (!o.to && !o.toDir && !o.applyManifests && !o.applyReleaseImageSignature && !o.dryRun) {
    // Still useful: verify, then write the ConfigMaps and say what to do next.
    progress.info('no --to, --to-dir or --apply-* given: verifying and writing the manifests only');
  }
  if (o.applyManifests && o.to === undefined) {
    progress.warn(
      '--apply-manifests without --to: there is no mirror configuration to apply, only the ConfigMaps',
    );
  }
  return o.to !== undefined ? parseRegistryTarget(o.to, '--to') : undefined;
}

function mirrorReference(dest: Destination, release: { repository: string; digest: string }): string {
  return `${dest.registry}/${destRepository(dest, release.repository)}@${release.digest}`;
}

function initialResult(o: UnpackOptions, report: VerifyReport, progress: Progress): UnpackResult {
  const trust = report.trust;
  if (trust && trust.unanchored > 0) {
    progress.warn(
      `${trust.unanchored} item(s) no signature anchors are unpacked because of --allow-unsigned`,
    );
  }
  const releases = releasesOf(report.index ?? { releases: [] }).map((r) => ({
    version: r.version,
    digest: r.digest,
  }));
  const release = releases.at(-1);
  return {
    ok: true,
    dryRun: Boolean(o.dryRun),
    verify: { ok: true, problems: 0 },
    ...(trust
      ? {
          trust: {
            index: trust.index,
            unanchored: trust.unanchored,
            allowUnsigned: Boolean(o.allowUnsigned),
          },
        }
      : {}),
    ...(release ? { release } : {}),
    releases,
    manifestFiles: [],
    applied: [],
    conflicts: 0,
    applyErrors: 0,
    nextSteps: [],
    durationMs: 0,
  };
}
