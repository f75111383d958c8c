/**
 * An incremental bundle relies on its base: blobs the destination holds instead of the
 * media. Before anything is pushed or written, every one of them is checked where the
 * base says it is (HEAD per digest, in parallel); if any is missing nothing happens and
 * the error names the missing digests and the snapshot or bundle the base came from.
 * Blobs the bundle needs in other repositories too (`mountTo`) are then mounted there.
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { openBundle } from '../../bundle/open-bundle.js';
import { blobEntryPath } from '../../bundle/entry-path.js';
import type { BundleBase, BundleBaseDigest, BundleIndex } from '../../bundle/index-schema.js';
import { HashingStream } from '../../digest.js';
import { BaleError, isBaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient } from '../../registry/client.js';
import { assertNoSymlinks } from '../../safe-write.js';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { ConfinedDirWriter } from './dir-writer.js';
import { destRepository, type Destination } from './registry-push.js';

export interface BaseCheck {
  /** Blobs of the base, all present. */
  present: number;
  /** Blobs mounted into the other repositories that need them. */
  mounted: number;
}

function where(base: BundleBase): string {
  return `${base.kind} ${base.file} (sha256 ${base.sha256}${base.created ? `, created ${base.created}` : ''})`;
}

function missingError(base: BundleBase, missing: string[], at: string, fix: string): BaleError {
  return new BaleError(
    'E_BASE_MISSING',
    `this incremental bundle relies on ${missing.length} blob(s) ${at} lacks (base: ${where(base)}): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
    {
      hint: `Nothing was pushed or written. ${fix}`,
      details: { base: { kind: base.kind, file: base.file, sha256: base.sha256 }, missing },
    },
  );
}

/** `unpack --to`: HEAD each base blob in its repository; then mount into `mountTo` repositories. */
export async function checkBaseInRegistry(o: {
  index: BundleIndex;
  client: RegistryClient;
  dest: Destination;
  concurrency: number;
  dryRun: boolean;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<BaseCheck | undefined> {
  const base = o.index.base;
  if (base === undefined) return undefined;
  const limit = pLimit(Math.max(1, o.concurrency));
  const repoOf = (repository: string) => ({
    registry: o.dest.registry,
    repository: destRepository(o.dest, repository),
  });
  o.progress.phase('check base', { items: base.digests.length });
  const missing: string[] = [];
  await Promise.all(
    base.digests.map((d) =>
      limit(async () => {
        o.signal?.throwIfAborted();
        if (!(await o.client.blobExists(repoOf(d.repository), d.digest)))
          missing.push(`${destRepository(o.dest, d.repository)}@${d.digest}`);
        o.progress.advance(0, 1);
      }),
    ),
  );
  if (missing.length > 0) {
    throw missingError(
      base,
      missing.sort(),
      o.dest.registry,
      `Unpack the bundle (or snapshot) the base names into ${o.dest.registry}${o.dest.prefix ? `/${o.dest.prefix}` : ''} first, or pack a full bundle (without --have/--since).`,
    );
  }
  let mounted = 0;
  if (!o.dryRun) {
    const mounts = base.digests.flatMap((d) => (d.mountTo ?? []).map((to) => ({ d, to })));
    await Promise.all(
      mounts.map(({ d, to }) =>
        limit(async () => {
          o.signal?.throwIfAborted();
          const outcome = await o.client.pushBlob(
            repoOf(to),
            { digest: d.digest, size: d.size ?? 0 },
            () => {
              throw missingError(
                base,
                [`${destRepository(o.dest, to)}@${d.digest}`],
                o.dest.registry,
                `The registry refused to mount it from ${destRepository(o.dest, d.repository)}; check that the credentials may read that repository.`,
              );
            },
            { mountFrom: [destRepository(o.dest, d.repository)] },
          );
          if (outcome === 'mounted') mounted++;
        }),
      ),
    );
  }
  return { present: base.digests.length, mounted };
}

/**
 * `unpack --to-dir` of an incremental bundle: each base blob must be a regular file in
 * `baseDir`'s layout (no symlinked component) whose bytes hash to its digest.
 */
export async function checkBaseInDir(index: BundleIndex, baseDir: string | undefined): Promise<void> {
  const base = index.base;
  if (base === undefined) return;
  if (baseDir === undefined) {
    throw new BaleError(
      'E_USAGE',
      `this is an incremental bundle: --to-dir needs --base-dir, the directory its base (${where(base)}) was unpacked to`,
      {
        hint: 'Nothing was written. Add --base-dir DIR (it may be the --to-dir itself when you unpack into the same directory every time).',
      },
    );
  }
  await assertNoSymlinks(baseDir).catch((err: unknown) => {
    throw isBaleError(err) ? err : new BaleError('E_USAGE', `--base-dir ${baseDir} cannot be read`);
  });
  const missing: string[] = [];
  const limit = pLimit(4);
  await Promise.all(
    base.digests.map((d) =>
      limit(async () => {
        if ((await baseFile(baseDir, d)) === undefined) missing.push(`${d.repository}@${d.digest}`);
      }),
    ),
  );
  if (missing.length > 0) {
    throw missingError(
      base,
      missing.sort(),
      `--base-dir ${baseDir}`,
      'Give the directory the base bundle was unpacked to (bale unpack --to-dir), complete.',
    );
  }
}

/** The path of a base blob in `baseDir` when it is there, a regular file with the right bytes. */
export async function baseFile(baseDir: string, d: BundleBaseDigest): Promise<string | undefined> {
  for (const repository of [d.repository, ...(d.mountTo ?? [])]) {
    const path = join(baseDir, blobEntryPath(repository, d.digest));
    // No symlinked folder on the way (v2/<repo>/blobs), and the file itself no link.
    if (
      !(await assertNoSymlinks(dirname(path)).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile() || (d.size !== undefined && st.size !== d.size)) continue;
    const check = new HashingStream({ digest: d.digest, size: st.size, what: path });
    const ok = await pipeline(
      createReadStream(path),
      check,
      new Writable({ write: (_c, _e, cb) => cb() }),
    ).then(
      () => true,
      () => false,
    );
    if (ok) return path;
  }
  return undefined;
}

/** Makes `--to-dir`'s layout complete: every base blob copied (digest checked) where it is needed. */
export async function completeFromBaseDir(
  index: BundleIndex,
  baseDir: string,
  writer: ConfinedDirWriter,
): Promise<{ copied: number; present: number }> {
  const out = { copied: 0, present: 0 };
  for (const d of index.base?.digests ?? []) {
    for (const repository of [d.repository, ...(d.mountTo ?? [])]) {
      const path = blobEntryPath(repository, d.digest);
      const size = d.size ?? (await lstat(join(baseDir, blobEntryPath(d.repository, d.digest)))).size;
      if (await writer.hasFile(path, size, d.digest)) {
        out.present++;
        continue;
      }
      const from = await baseFile(baseDir, d);
      if (from === undefined) throw missingError(index.base!, [`${repository}@${d.digest}`], baseDir, '');
      await writer.writeFile(path, createReadStream(from), { size, digest: d.digest });
      out.copied++;
    }
  }
  return out;
}

/**
 * Before verify (whose single pass pushes blobs while it reads): the base of bundle.json
 * as `openBundle` reads it (strictly, and matching SHA256SUMS), checked by HEAD only
 * (nothing is written). A bundle.json that does not open is left to verify to report.
 */
export async function precheckBase(
  dir: string,
  client: RegistryClient,
  dest: Destination,
  o: { concurrency?: number; signal?: AbortSignal },
  progress: Progress,
): Promise<void> {
  const index = (await openBundle(dir).catch(() => undefined))?.index;
  if (index?.base === undefined) return;
  await checkBaseInRegistry({
    index,
    client,
    dest,
    concurrency: o.concurrency ?? 8,
    dryRun: true,
    progress,
    ...(o.signal ? { signal: o.signal } : {}),
  });
}
