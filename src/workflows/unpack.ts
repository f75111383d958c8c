import { createReadStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { abortable } from '../abortable.js';
import { readIndex } from '../bundle/bundle-index.js';
import { acquireLock, type Lock, type LockOptions } from '../bundle/lock.js';
import type { BundleIndex } from '../bundle/index-schema.js';
import { readVolume } from '../bundle/volume-reader.js';
// The Kubernetes client is large (hundreds of modules): it is loaded only when applying.
import type { ApplyResult } from '../cluster/apply.js';
import type { KubeObject } from '../cluster/kube-object.js';
import { parseManifests } from '../cluster/manifests.js';
import { mirrorConfig, toYaml } from '../cluster/mirror-config.js';
import { BaleError } from '../errors.js';
import { ioError } from '../layout/dir-writer.js';
import { isRepositoryPath } from '../registry/reference.js';
import { silentProgress, type Progress } from '../progress.js';
import { RegistryClient } from '../registry/client.js';
import { loadCredentials } from '../registry/credentials.js';
import { defaultKeyringPath, loadKeyring, type Keyring } from '../signature/keyring.js';
import { expectedEntries, verifyBundle, type VerifyReport } from './verify.js';
import { unpackToDir, type DirUnpackResult } from '../unpack/dir-unpack.js';
import { destRepository, pushBundle, type Destination, type PushResult } from '../unpack/registry-push.js';

export interface UnpackOptions {
  bundleDir: string;
  /** `<registry>[/<prefix>]` */
  to?: string;
  toDir?: string;
  /** Where to write the ConfigMaps and mirror configuration. */
  manifestsToDir: string;
  keyrings?: string[];
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
    await mkdir(o.toDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw ioError(err, o.toDir ?? '');
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
  const dest = o.to !== undefined ? parseDestination(o.to) : undefined;
  if (o.applyManifests && o.to === undefined) {
    progress.warn(
      '--apply-manifests without --to: there is no mirror configuration to apply, only the ConfigMaps',
    );
  }
  const keyrings = await loadKeyrings(o.keyrings);

  // 1. Verify everything first.
  const report: VerifyReport = await verifyBundle(dir, { keyrings, progress });
  if (!report.ok) {
    const first = report.problems
      .slice(0, 5)
      .map((p) => `${p.volume ? `${p.volume}: ` : ''}${p.entry ? `${p.entry}: ` : ''}${p.message}`);
    throw new BaleError(
      'E_VERIFY_FAILED',
      `the bundle in ${dir} failed verification (${report.problems.length} problem(s)): ${first.join('; ')}`,
      {
        hint: 'Nothing was pushed or applied. Run bale verify for the full list; get an intact copy of the bundle.',
        details: { problems: report.problems },
      },
    );
  }
  const index = await readIndex(dir);

  const result: UnpackResult = {
    ok: true,
    dryRun: Boolean(o.dryRun),
    verify: { ok: true, problems: 0 },
    manifestFiles: [],
    applied: [],
    conflicts: 0,
    applyErrors: 0,
    nextSteps: [],
    durationMs: 0,
  };
  if (index.release) result.release = { version: index.release.version, digest: index.release.digest };

  // 2. Push to the mirror registry.
  if (dest) {
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
        progress,
        signal: o.signal,
      });
      result.push = { ...push, retries };
    } finally {
      if (o.signal?.aborted) await client.destroy();
      else await client.close();
    }
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

  // 4. ConfigMaps and mirror configuration.
  const files = await collectConfigFiles(dir, index);
  const objects: { file: string; text: string; objects: KubeObject[]; signature: boolean }[] = files.map(
    (f) => ({
      file: basename(f.path),
      text: f.text,
      objects: parseManifests(f.text, f.path),
      signature: basename(f.path).startsWith('signature-'),
    }),
  );
  if (dest) {
    const sources = index.images.map((img) => ({
      source: img.source,
      mirror: `${dest.registry}/${destRepository(dest, img.repository)}`,
    }));
    const { idms, icsp } = mirrorConfig({ sources });
    objects.push({
      file: 'imagedigestmirrorset.yaml',
      text: toYaml(idms),
      objects: [idms as unknown as KubeObject],
      signature: false,
    });
    if (o.icsp) {
      objects.push({
        file: 'imagecontentsourcepolicy.yaml',
        text: toYaml(icsp),
        objects: [icsp as unknown as KubeObject],
        signature: false,
      });
    }
  }
  if (!o.dryRun) {
    const mdir = resolve(o.manifestsToDir);
    await mkdir(mdir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw ioError(err, mdir);
    });
    for (const f of objects) {
      const path = join(mdir, f.file);
      const tmp = `${path}.tmp`;
      await writeFile(tmp, f.text).catch((err: NodeJS.ErrnoException) => {
        throw ioError(err, path);
      });
      await rename(tmp, path);
      result.manifestFiles.push(path);
    }
    result.manifestsDir = mdir;
  }

  // 5. Apply to the cluster, after the images are in place.
  const toApply = objects
    .filter((f) => o.applyManifests || (o.applyReleaseImageSignature && f.signature))
    .flatMap((f) => f.objects);
  if (toApply.length > 0) {
    progress.phase('apply', { items: toApply.length });
    const [{ applyFailed, applyObjects }, { loadKubeConfig }] = await Promise.all([
      import('../cluster/apply.js'),
      import('../cluster/kube-client.js'),
    ]);
    const { kubeConfig } = await loadKubeConfig({ kubeconfig: o.kubeconfig, env: o.env, homeDir: o.homeDir });
    result.applied = await applyObjects(toApply, {
      kubeConfig,
      overwrite: Boolean(o.overwrite),
      dryRun: Boolean(o.dryRun),
      onResult: (r) => {
        progress.advance(0, 1);
        if (r.action === 'conflict')
          progress.warn(
            `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} exists and differs; not changed (use --overwrite)`,
          );
        if (r.action === 'error') progress.warn(`${r.kind} ${r.name}: ${r.message ?? 'apply failed'}`);
      },
    });
    result.conflicts = result.applied.filter((r) => r.action === 'conflict').length;
    result.applyErrors = result.applied.filter((r) => r.action === 'error').length;
    if (applyFailed(result.applied)) result.ok = false;
  }

  // 6. What to do next.
  if (result.toDir && index.release) {
    result.nextSteps.push(
      `oc image mirror --from-dir=${result.toDir.dir} 'file://openshift/release:${index.release.version}*' REGISTRY/REPOSITORY`,
    );
  }
  if (result.release?.mirror) {
    if (!o.applyManifests && !o.dryRun) {
      result.nextSteps.push(`oc apply -f ${result.manifestsDir ?? o.manifestsToDir}`);
    }
    result.nextSteps.push(`oc adm upgrade --allow-explicit-upgrade --to-image ${result.release.mirror}`);
  }
  result.durationMs = Date.now() - started;
  return result;
}

function parseDestination(to: string): Destination {
  const t = to.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  const slash = t.indexOf('/');
  const registry = slash < 0 ? t : t.slice(0, slash);
  const prefix = slash < 0 ? '' : t.slice(slash + 1);
  if (
    !/^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/.test(registry) ||
    (prefix && !isRepositoryPath(prefix))
  ) {
    throw new BaleError('E_USAGE', `--to ${JSON.stringify(to)} is not <registry>[/<prefix>]`, {
      hint: 'For example --to mirror.example.com:5000 or --to mirror.example.com:5000/ocp4 (no tag, no digest).',
    });
  }
  return { registry, prefix };
}

async function loadKeyrings(paths: string[] | undefined): Promise<Keyring[]> {
  const list = paths?.length ? paths : [defaultKeyringPath()];
  return Promise.all(list.map((p) => loadKeyring(p)));
}

/** The small files under config/ and manifests/ (ConfigMaps etc.), read from the volumes. */
async function collectConfigFiles(
  dir: string,
  index: BundleIndex,
): Promise<{ path: string; text: string }[]> {
  const wanted = new Set(index.manifests);
  const found = new Map<string, string>();
  const volumes = new Set(index.entries.filter((e) => wanted.has(e.path)).map((e) => e.volume ?? ''));
  for (const volume of index.volumes.map((v) => v.name).filter((v) => volumes.has(v))) {
    await readVolume(createReadStream(join(dir, volume)), {
      volume,
      expected: expectedEntries(index, volume),
      onEntry: async (e, content) => {
        if (!content || !wanted.has(e.path)) return;
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c as Buffer);
        found.set(e.path, Buffer.concat(chunks).toString('utf8'));
      },
    });
  }
  return index.manifests.filter((p) => found.has(p)).map((p) => ({ path: p, text: found.get(p) ?? '' }));
}
