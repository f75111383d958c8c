import { parseRegistryTarget } from '../../registry/registry-target.js';
import { basename, join, resolve } from 'node:path';
import { abortable } from '../../abortable.js';
import { acquireLock, type Lock, type LockOptions } from '../../bundle/lock.js';
import type { BundleIndex } from '../../bundle/index-schema.js';
import type { IndexSignatureState } from '../../bundle/trust-chain.js';
import type { ApplyResult } from '../../cluster/apply.js';
import { openClusterApplier } from '../../cluster/apply-reporting.js';
import { planApply, type ApplyPlan } from '../../cluster/allowed-objects.js';
import { BaleError, isBaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import { makeSafeDir, writeFileSafely } from '../../safe-write.js';
import { silentProgress, type Progress } from '../../progress.js';
import { RegistryClient } from '../../registry/client.js';
import { loadCredentials } from '../../registry/credentials.js';
import { loadKeyring, loadKeyrings } from '../../signature/keyring.js';
import { loadSigstoreKey } from '../../signature/sigstore-key.js';
import { verifyBundle, type VerifyReport } from '../../bundle/verify-bundle.js';
import { generatedMirrorConfig, unpackNextSteps, type OutputFile } from './cluster-output.js';
import { unpackToDir, type DirUnpackResult } from './dir-unpack.js';
import { destRepository, pushBundle, type Destination, type PushResult } from './registry-push.js';

export interface UnpackOptions {
  bundleDir: string;
  /** `<registry>[/<prefix>]` */
  to?: string;
  toDir?: string;
  /** Where to write the ConfigMaps and mirror configuration. */
  manifestsToDir: string;
  keyrings?: string[];
  /** PEM Sigstore public keys (`--sigstore-key`); default: the shipped Red Hat key. */
  sigstoreKeys?: string[];
  /** Keyrings for bundle.json.asc only (the packer's signature over the index). */
  indexKeyrings?: string[];
  /** Unpack content no signature anchors (said in the result and the progress). */
  allowUnsigned?: boolean;
  registryConfig?: string;
  destTlsVerify?: boolean;
  caFile?: string;
  applyReleaseImageSignature?: boolean;
  applyManifests?: boolean;
  /** Also write an ImageContentSourcePolicy (older clusters). */
  icsp?: boolean;
  overwrite?: boolean;
  dryRun?: boolean;
  kubeconfig?: string;
  concurrency?: number;
  env: Record<string, string | undefined>;
  homeDir: string;
  progress?: Progress;
  signal?: AbortSignal;
  /** Who holds the --to-dir lock (the CLI passes its pid and a liveness check); no lock without it. */
  lockOwner?: LockOptions;
}

export interface UnpackResult {
  ok: boolean;
  dryRun: boolean;
  release?: { version: string; digest: string; mirror?: string };
  verify: { ok: boolean; problems: number };
  trust?: { index: IndexSignatureState; unanchored: number; allowUnsigned: boolean };
  /** Each object to apply, where it comes from and what applying it does (listed before applying). */
  applyPlan?: (ApplyResult & { source: string })[];
  push?: PushResult & { retries: number };
  toDir?: DirUnpackResult;
  manifestsDir?: string;
  manifestFiles: string[];
  applied: ApplyResult[];
  conflicts: number;
  applyErrors: number;
  nextSteps: string[];
  durationMs: number;
}

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
  if (!o.to && !o.toDir && !o.applyManifests && !o.applyReleaseImageSignature && !o.dryRun) {
    // Still useful: verify, then write the ConfigMaps and say what to do next.
    progress.info('no --to, --to-dir or --apply-* given: verifying and writing the manifests only');
  }
  const dest = o.to !== undefined ? parseRegistryTarget(o.to, '--to') : undefined;
  if (o.applyManifests && o.to === undefined) {
    progress.warn(
      '--apply-manifests without --to: there is no mirror configuration to apply, only the ConfigMaps',
    );
  }
  const keyrings = await loadKeyrings(o.keyrings);
  const indexKeyrings = o.indexKeyrings?.length
    ? await Promise.all(o.indexKeyrings.map((p) => loadKeyring(p)))
    : undefined;

  // 1. Verify everything first; from here on only what was verified is acted on.
  const sigstoreKeys = o.sigstoreKeys?.length
    ? await Promise.all(o.sigstoreKeys.map((p) => loadSigstoreKey(p)))
    : undefined;
  const report: VerifyReport = await verifyBundle(dir, {
    keyrings,
    ...(sigstoreKeys ? { sigstoreKeys } : {}),
    indexKeyrings,
    allowUnsigned: Boolean(o.allowUnsigned),
    progress,
  });
  if (!report.ok || report.index === undefined) {
    const first = report.problems
      .slice(0, 5)
      .map(
        (p) => `${p.volume ? `${p.volume}: ` : ''}${p.entry ? `${p.entry}: ` : ''}${p.message} [${p.code}]`,
      );
    throw new BaleError(
      'E_VERIFY_FAILED',
      `the bundle in ${dir} failed verification (${report.problems.length} problem(s)): ${first.join('; ')}`,
      {
        hint: 'Nothing was pushed or applied. Run bale verify for the full list; get an intact copy of the bundle, or give the right --keyring / --index-keyring (--allow-unsigned accepts unsigned content explicitly).',
        details: { problems: report.problems },
      },
    );
  }
  const index = report.index;
  const indexSigned = report.trust?.index.state === 'signed';

  const result: UnpackResult = {
    ok: true,
    dryRun: Boolean(o.dryRun),
    verify: { ok: true, problems: 0 },
    ...(report.trust
      ? {
          trust: {
            index: report.trust.index,
            unanchored: report.trust.unanchored,
            allowUnsigned: Boolean(o.allowUnsigned),
          },
        }
      : {}),
    manifestFiles: [],
    applied: [],
    conflicts: 0,
    applyErrors: 0,
    nextSteps: [],
    durationMs: 0,
  };
  if (report.trust && report.trust.unanchored > 0) {
    progress.warn(
      `${report.trust.unanchored} item(s) no signature anchors are unpacked because of --allow-unsigned`,
    );
  }
  if (index.release) result.release = { version: index.release.version, digest: index.release.digest };

  // ConfigMaps and mirror configuration: the verified bytes, never re-read.
  const files: OutputFile[] = (report.clusterFiles ?? [])
    .filter((f) => f.listed)
    .map((f) => ({
      file: basename(f.path),
      source: f.path,
      text: f.text,
      objects: f.kubeObjects,
      verifiedSignatures: f.verifiedSignatures,
      generated: false,
    }));
  if (dest) files.push(...generatedMirrorConfig(index, dest, Boolean(o.icsp)));
  // What may be applied is decided before anything is pushed: a refusal changes nothing.
  const plan = planApply(
    files.map((f) => ({
      file: f.source,
      objects: f.objects,
      verifiedSignatures: f.verifiedSignatures,
      generated: f.generated,
    })),
    {
      applyManifests: Boolean(o.applyManifests),
      applySignatures: Boolean(o.applyReleaseImageSignature),
      indexSigned,
    },
  );
  // 2. Push to the mirror registry.
  if (dest) {
    result.push = await pushToMirror(o, dir, index, dest, progress);
    if (index.release) {
      result.release = {
        version: index.release.version,
        digest: index.release.digest,
        mirror: `${dest.registry}/${destRepository(dest, index.release.repository)}@${index.release.digest}`,
      };
    }
  }

  // 3. oc's directory layout.
  if (o.toDir && !o.dryRun) {
    result.toDir = await unpackToDir({ bundleDir: dir, index, dir: o.toDir, progress, signal: o.signal });
  }

  // 4. Write the ConfigMaps and mirror configuration.
  if (!o.dryRun) {
    const mdir = resolve(o.manifestsToDir);
    await makeSafeDir(mdir).catch((err: NodeJS.ErrnoException) => {
      throw isBaleError(err) ? err : ioError(err, mdir);
    });
    const names = new Set<string>();
    for (const f of files) {
      if (names.has(f.file)) {
        throw new BaleError('E_BUNDLE_INVALID', `two manifests would be written as ${f.file}`, {
          hint: 'The bundle lists two files of the same name; this is not a bundle bale wrote.',
        });
      }
      names.add(f.file);
      const path = await writeFileSafely(mdir, f.file, f.text).catch((err: NodeJS.ErrnoException) => {
        throw isBaleError(err) ? err : ioError(err, join(mdir, f.file));
      });
      result.manifestFiles.push(path);
    }
    result.manifestsDir = mdir;
  }

  // 5. Apply to the cluster, after the images are in place.
  if (plan.objects.length > 0) {
    await applyPlan(o, plan, result, progress);
  }

  // 6. What to do next (every word from the media shell-quoted).
  result.nextSteps.push(
    ...unpackNextSteps({
      index,
      ...(result.toDir ? { toDir: result.toDir.dir } : {}),
      ...(dest ? { dest } : {}),
      ...(result.release?.mirror ? { mirroredRelease: result.release.mirror } : {}),
      manifestsDir: result.manifestsDir ?? o.manifestsToDir,
      applied: Boolean(o.applyManifests) || Boolean(o.dryRun),
    }),
  );
  result.durationMs = Date.now() - started;
  return result;
}

async function pushToMirror(
  o: UnpackOptions,
  dir: string,
  index: BundleIndex,
  dest: Destination,
  progress: Progress,
): Promise<PushResult & { retries: number }> {
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  let retries = 0;
  const client = new RegistryClient({
    credentials,
    tlsVerify: o.destTlsVerify ?? true,
    caFile: o.caFile,
    concurrency: o.concurrency ?? 8,
    onRetry: (e) => {
      retries++;
      progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`);
    },
  });
  try {
    const push = await pushBundle({
      dir,
      index,
      client,
      dest,
      concurrency: o.concurrency ?? 8,
      dryRun: Boolean(o.dryRun),
      overwrite: Boolean(o.overwrite),
      progress,
      signal: o.signal,
    });
    return { ...push, retries };
  } finally {
    if (o.signal?.aborted) await client.destroy();
    else await client.close();
  }
}

/** Lists every object with what would happen to it, then applies them. */
async function applyPlan(
  o: UnpackOptions,
  plan: ApplyPlan,
  result: UnpackResult,
  progress: Progress,
): Promise<void> {
  progress.phase('apply', { items: plan.objects.length });
  const cluster = await openClusterApplier({
    kubeconfig: o.kubeconfig,
    env: o.env,
    homeDir: o.homeDir,
    overwrite: Boolean(o.overwrite),
    progress,
  });
  const preview = await cluster.preview(plan.objects);
  preview.forEach((r, i) => {
    const what = r.action === 'would-create' ? 'create' : r.action === 'would-update' ? 'update' : r.action;
    progress.info(`to apply: ${plan.sources[i] ?? r.kind}: ${what}`);
  });
  result.applyPlan = preview.map((r, i) => ({ ...r, source: plan.sources[i] ?? '' }));
  result.applied = o.dryRun ? preview : await cluster.apply(plan.objects);
  result.conflicts = result.applied.filter((r) => r.action === 'conflict').length;
  result.applyErrors = result.applied.filter((r) => r.action === 'error').length;
  if (cluster.failed(result.applied)) result.ok = false;
}
