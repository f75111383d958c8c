import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Hex } from '../../digest.js';
import pLimit from 'p-limit';
import type { BundleEntry, BundleIndex } from '../../bundle/index-schema.js';
import { readVolume } from '../../bundle/volume-reader.js';
import { readFileChunks } from '../../bundle/file-chunks.js';
import { BaleError } from '../../errors.js';
import { parseV2Path } from '../../bundle/entry-path.js';
import { expectedEntries } from '../../bundle/expected-entries.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient, Repo } from '../../registry/client.js';
import { parseManifest } from '../../registry/manifest.js';
import { openBundleEntry, volumesOf } from '../../bundle/bundle-source.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/**
 * Blobs up to this size are read into memory and uploaded in the background while the
 * volume reader goes on (larger ones stream straight from the volume, one at a time per
 * volume), within a fixed budget of buffered bytes: memory stays bounded whatever the
 * bundle, and small blobs no longer wait for each other.
 */
const BUFFERED_BLOB_MAX = 4 * 1024 * 1024;
const BUFFERED_BUDGET = 24 * 1024 * 1024;
/** Volumes read (and pushed from) at the same time: each costs a zstd stream and a CPU. */
const MAX_PARALLEL_VOLUMES = 4;

export interface Destination {
  registry: string;
  /** Repository prefix ('' for none). */
  prefix: string;
}

export function destRepository(dest: Destination, repository: string): string {
  return dest.prefix ? `${dest.prefix}/${repository}` : repository;
}

interface RepoContent {
  repository: string;
  dest: Repo;
  blobs: BundleEntry[];
  blobDigest: Map<string, string>;
  /** Manifest digests in push order (children before parents). */
  manifests: string[];
  tags: { tag: string; digest: string }[];
}

export interface PushImageStatus {
  repository: string;
  destination: string;
  digest: string;
  tags: string[];
  /** Blobs of the image the registry had (absent when its manifests were present and so not read). */
  blobsPresent?: number;
  blobsToPush: number;
  bytesToPush: number;
  manifestPresent: boolean;
}

export interface PushResult {
  registry: string;
  dryRun: boolean;
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesUploaded: number;
  manifestsPushed: number;
  manifestsPresent: number;
  tagsPushed: number;
  tagsPresent: number;
  images: PushImageStatus[];
}

/** Sorts a bundle's v2/ entries into repositories: blobs, manifests (in stream order) and tags. */
export function bundleRepositories(index: BundleIndex, dest: Destination): RepoContent[] {
  const repos = new Map<string, RepoContent>();
  const get = (repository: string): RepoContent => {
    let r = repos.get(repository);
    if (!r) {
      r = {
        repository,
        dest: { registry: dest.registry, repository: destRepository(dest, repository) },
        blobs: [],
        blobDigest: new Map(),
        manifests: [],
        tags: [],
      };
      repos.set(repository, r);
    }
    return r;
  };
  for (const e of index.entries) {
    const p = parseV2Path(e.path);
    if (!p) continue;
    const r = get(p.repository);
    if (p.kind === 'blobs' && e.type === 'file') {
      r.blobs.push(e);
      r.blobDigest.set(e.path, p.name);
    } else if (p.kind === 'manifests' && e.type === 'hardlink') {
      r.manifests.push(p.name);
    } else if (p.kind === 'manifests' && e.type === 'symlink' && e.linkTarget) {
      r.tags.push({ tag: p.name, digest: e.linkTarget });
    }
  }
  // A manifest is stored as a blob too (oc's layout); registries keep manifests apart.
  for (const r of repos.values()) {
    const manifests = new Set(r.manifests);
    r.blobs = r.blobs.filter((b) => !manifests.has(r.blobDigest.get(b.path) ?? ''));
  }
  return [...repos.values()];
}

/**
 * Pushes every repository of a verified bundle into a registry: blobs straight from the
 * volumes (skipping what the registry has, mounting what another destination repository
 * has), then manifests children-first with their original bytes, then tags. Re-running
 * pushes only what is missing.
 */
export async function pushBundle(o: {
  dir: string;
  index: BundleIndex;
  client: RegistryClient;
  dest: Destination;
  concurrency: number;
  dryRun: boolean;
  /** Re-point tags the mirror has at another digest (else E_TAG_CONFLICT before anything is pushed). */
  overwrite?: boolean;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<PushResult> {
  const { client, progress, signal } = o;
  const repos = bundleRepositories(o.index, o.dest);
  // Only the repositories of the bundle's images, under the destination prefix.
  const imageRepos = new Set(o.index.images.map((i) => i.repository));
  const stray = repos.filter((r) => !imageRepos.has(r.repository)).map((r) => r.repository);
  if (stray.length > 0) {
    throw new BaleError(
      'E_BUNDLE_INVALID',
      `the bundle has content under v2/ in ${stray.join(', ')}, which is no image's repository`,
      {
        hint: 'Nothing was pushed. This is not a bundle bale wrote; get an intact copy.',
        details: { stray },
      },
    );
  }
  const limit = pLimit(Math.max(1, o.concurrency));
  const result: PushResult = {
    registry: o.dest.registry,
    dryRun: o.dryRun,
    blobsUploaded: 0,
    blobsMounted: 0,
    blobsPresent: 0,
    bytesUploaded: 0,
    manifestsPushed: 0,
    manifestsPresent: 0,
    tagsPushed: 0,
    tagsPresent: 0,
    images: [],
  };

  const tagConflicts: string[] = [];
  // 1. What does the registry have already? Blobs, manifests and tags, all by HEAD.
  progress.phase('check destination', {
    items: repos.reduce((n, r) => n + r.blobs.length + r.manifests.length + r.tags.length, 0),
  });
  const present = new Map<string, Set<string>>(); // digest → dest repositories that have it
  const missing = new Map<string, { repo: RepoContent; entry: BundleEntry; digest: string }>(); // by entry path
  const manifestPresent = new Set<string>(); // `${destRepo}@${digest}`
  const tagPresent = new Set<string>(); // `${destRepo}:${tag}` already naming the right digest
  const checks: (() => Promise<void>)[] = repos.flatMap((r) => [
    ...r.blobs.map((b) => async () => {
      signal?.throwIfAborted();
      const digest = r.blobDigest.get(b.path) ?? '';
      if (await client.blobExists(r.dest, digest)) {
        const s = present.get(digest) ?? new Set<string>();
        s.add(r.dest.repository);
        present.set(digest, s);
        result.blobsPresent++;
      } else {
        missing.set(b.path, { repo: r, entry: b, digest });
      }
      progress.advance(0, 1);
    }),
    ...r.manifests.map((d) => async () => {
      signal?.throwIfAborted();
      if (await client.headManifest(r.dest, d)) manifestPresent.add(`${r.dest.repository}@${d}`);
      progress.advance(0, 1);
    }),
    ...r.tags.map((t) => async () => {
      signal?.throwIfAborted();
      const head = await client.headManifest(r.dest, t.tag);
      if (head?.digest === t.digest) tagPresent.add(`${r.dest.repository}:${t.tag}`);
      else if (head !== undefined)
        tagConflicts.push(`${r.dest.repository}:${t.tag} is ${head.digest}, the bundle has ${t.digest}`);
      progress.advance(0, 1);
    }),
  ]);
  // One request alone first: an unreachable registry, a certificate or credentials
  // problem then fails once, clearly, instead of once per blob.
  const [probe, ...rest] = checks;
  if (probe) await probe();
  try {
    await Promise.all(rest.map((c) => limit(c)));
  } catch (err) {
    limit.clearQueue();
    throw err;
  }
  if (tagConflicts.length > 0 && !o.overwrite) {
    throw new BaleError(
      'E_TAG_CONFLICT',
      `${tagConflicts.length} tag(s) in ${o.dest.registry} already name another image: ${tagConflicts.slice(0, 5).join('; ')}`,
      {
        hint: 'Nothing was pushed. Check what those tags hold; re-run with --overwrite to re-point them, or unpack under another --to prefix.',
        details: { conflicts: tagConflicts },
      },
    );
  }

  // 2. Manifests to read from the volumes: those to push (as manifest or tag); in a dry
  //    run all of them, to tell per image what is missing.
  const manifestBytes = new Map<string, Buffer>(); // `${repository}@${digest}`
  const wantManifests = new Map<string, RepoContent>(); // entry path of the manifest blob → repo
  for (const r of repos) {
    const needed = new Set<string>(o.dryRun ? r.manifests : []);
    for (const d of r.manifests) if (!manifestPresent.has(`${r.dest.repository}@${d}`)) needed.add(d);
    for (const t of r.tags) if (!tagPresent.has(`${r.dest.repository}:${t.tag}`)) needed.add(t.digest);
    for (const d of needed) wantManifests.set(`v2/${r.repository}/blobs/${d}`, r);
  }
  const keepManifest = async (
    e: { path: string; size: number; sha256?: string },
    content: Readable,
    volume: string,
  ): Promise<void> => {
    if (e.size > MAX_MANIFEST_BYTES) {
      throw new BaleError('E_TOO_LARGE', `manifest ${e.path} in ${volume} is ${e.size} bytes`);
    }
    const chunks: Buffer[] = [];
    for await (const c of content) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    // The push pass reads without the reader's sha256 (checkDigests: false): check here.
    if (e.sha256 !== undefined && sha256Hex(bytes) !== e.sha256) {
      throw new BaleError('E_DIGEST_MISMATCH', `${volume}: manifest ${e.path} does not match bundle.json`, {
        hint: 'The volume changed after it was verified: copy it again and re-run.',
        details: { volume, entry: e.path, expectedDigest: `sha256:${e.sha256}` },
      });
    }
    const repo = wantManifests.get(e.path);
    manifestBytes.set(`${repo?.repository}@${e.path.slice(e.path.lastIndexOf('/') + 1)}`, bytes);
  };

  if (o.dryRun) {
    for (const volume of volumesHolding(o.index, wantManifests.keys())) {
      signal?.throwIfAborted();
      await readVolume(readFileChunks(join(o.dir, volume)), {
        volume,
        expected: expectedEntries(o.index, volume),
        onEntry: async (e, content) => {
          if (content && wantManifests.has(e.path)) await keepManifest(e, content, volume);
        },
      });
    }
    result.images = imageStatus(repos, { missing, manifestPresent, tagPresent, manifestBytes });
    return result;
  }

  // 3. Blobs, read volume by volume; manifests' bytes are collected on the way.
  const pushed = new Map<string, string[]>(); // digest → dest repositories we pushed it to
  const inFlight = new Map<string, Promise<void>>(); // digest → its upload under way
  const pushOne = async (
    m: { repo: RepoContent; entry: BundleEntry; digest: string },
    first: Readable | Buffer | undefined,
    // null: nothing to wait for (undefined would take the default).
    earlier: Promise<void> | null | undefined = inFlight.get(m.digest),
  ) => {
    // The same blob for another repository: wait for it, then mount instead of uploading.
    if (earlier) await earlier.catch(() => undefined);
    const mountFrom = [...(present.get(m.digest) ?? []), ...(pushed.get(m.digest) ?? [])].filter(
      (x) => x !== m.repo.dest.repository,
    );
    let used = false;
    const open = (): Readable => {
      if (Buffer.isBuffer(first)) return Readable.from([first], { objectMode: false });
      if (first && !used) {
        used = true;
        return first;
      }
      return openBundleEntry(o.dir, o.index, m.entry);
    };
    const outcome = await client.pushBlob(m.repo.dest, { digest: m.digest, size: m.entry.size }, open, {
      mountFrom,
    });
    if (outcome === 'uploaded') {
      result.blobsUploaded++;
      result.bytesUploaded += m.entry.size;
    } else if (outcome === 'mounted') result.blobsMounted++;
    else result.blobsPresent++;
    pushed.set(m.digest, [...(pushed.get(m.digest) ?? []), m.repo.dest.repository]);
    progress.advance(m.entry.size);
  };

  const volumesNeeded = new Set(volumesHolding(o.index, wantManifests.keys()));
  for (const m of missing.values())
    if (!m.entry.parts) for (const v of volumesOf(m.entry)) volumesNeeded.add(v);
  progress.phase('push blobs', { bytes: [...missing.values()].reduce((n, m) => n + m.entry.size, 0) });
  // Each volume is one sequential tar stream; several volumes stream at once.
  const volumeLimit = pLimit(Math.max(1, Math.min(o.concurrency, MAX_PARALLEL_VOLUMES)));
  // Background uploads of buffered small blobs: bounded by BUFFERED_BUDGET bytes and by
  // the upload concurrency; the first failure stops the volume readers.
  const background = new Set<Promise<void>>();
  let buffered = 0;
  let failure: { err: unknown } | undefined;
  const released: (() => void)[] = [];
  const waitForBudget = async (bytes: number): Promise<void> => {
    while (buffered > 0 && buffered + bytes > BUFFERED_BUDGET && failure === undefined) {
      await new Promise<void>((r) => released.push(r));
    }
    if (failure) throw failure.err;
  };
  const pushBuffered = async (
    m: { repo: RepoContent; entry: BundleEntry; digest: string },
    content: Readable,
  ): Promise<void> => {
    await waitForBudget(m.entry.size);
    buffered += m.entry.size;
    let bytes: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const c of content) chunks.push(c as Buffer);
      bytes = Buffer.concat(chunks);
    } catch (err) {
      buffered -= m.entry.size;
      released.splice(0).forEach((r) => r());
      throw err;
    }
    const earlier = inFlight.get(m.digest) ?? null;
    const task: Promise<void> = limit(() => {
      if (failure) throw failure.err;
      return pushOne(m, bytes, earlier);
    })
      .catch((err: unknown) => {
        failure ??= { err };
      })
      .finally(() => {
        buffered -= m.entry.size;
        background.delete(task);
        if (inFlight.get(m.digest) === task) inFlight.delete(m.digest);
        released.splice(0).forEach((r) => r());
      });
    background.add(task);
    inFlight.set(m.digest, task);
  };
  const readOne = async (volume: string): Promise<void> => {
    signal?.throwIfAborted();
    await readVolume(readFileChunks(join(o.dir, volume)), {
      volume,
      expected: expectedEntries(o.index, volume),
      // Verified in full just before; every pushed byte is hashed again by the upload
      // (and by the registry), and manifests by keepManifest.
      checkDigests: false,
      onEntry: async (e, content) => {
        if (failure) throw failure.err;
        signal?.throwIfAborted();
        if (!content) return;
        const m = missing.get(e.path);
        if (m) {
          if (m.entry.size <= BUFFERED_BLOB_MAX) await pushBuffered(m, content);
          else await pushOne(m, content);
          return;
        }
        if (wantManifests.has(e.path)) await keepManifest(e, content, volume);
      },
    });
  };
  try {
    await Promise.all(
      o.index.volumes
        .map((v) => v.name)
        .filter((v) => volumesNeeded.has(v))
        .map((v) => volumeLimit(() => readOne(v))),
    );
  } catch (err) {
    volumeLimit.clearQueue();
    failure ??= { err };
  }
  while (background.size > 0) await Promise.all([...background]);
  if (failure) {
    limit.clearQueue();
    throw failure.err;
  }
  // Blobs split across volumes stream from their parts in order.
  for (const m of missing.values()) {
    if (m.entry.parts) await pushOne(m, undefined);
  }

  // 4. Manifests, children first, then tags.
  progress.phase('push manifests', {
    items: repos.reduce((n, r) => n + r.manifests.length + r.tags.length, 0),
  });
  for (const r of repos) {
    const bytesOf = (d: string): Buffer => {
      const b = manifestBytes.get(`${r.repository}@${d}`);
      if (!b)
        throw new BaleError(
          'E_BUNDLE_INCOMPLETE',
          `manifest ${d} of ${r.repository} was not found in the volumes`,
        );
      return b;
    };
    for (const d of r.manifests) {
      signal?.throwIfAborted();
      if (manifestPresent.has(`${r.dest.repository}@${d}`)) {
        result.manifestsPresent++;
      } else {
        const bytes = bytesOf(d);
        await client.putManifest(r.dest, d, bytes, parseManifest(bytes).mediaType);
        result.manifestsPushed++;
      }
      progress.advance(0, 1);
    }
    for (const t of r.tags) {
      signal?.throwIfAborted();
      if (tagPresent.has(`${r.dest.repository}:${t.tag}`)) {
        result.tagsPresent++;
      } else {
        const bytes = bytesOf(t.digest);
        await client.putManifest(r.dest, t.tag, bytes, parseManifest(bytes).mediaType);
        result.tagsPushed++;
      }
      progress.advance(0, 1);
    }
  }
  result.images = imageStatus(repos, { missing, manifestPresent, tagPresent, manifestBytes });
  return result;
}

/** Volumes holding (a part of) any of these entries, in bundle order. */
function volumesHolding(index: BundleIndex, paths: Iterable<string>): string[] {
  const wanted = new Set(paths);
  const vols = new Set<string>();
  for (const e of index.entries) if (wanted.has(e.path)) for (const v of volumesOf(e)) vols.add(v);
  return index.volumes.map((v) => v.name).filter((v) => vols.has(v));
}

/**
 * Per tagged image: is it there, and which of its blobs were missing. Its blobs are
 * known from its manifest (and its children's) when those bytes were read; an image
 * whose manifests were all present is not read, and then had nothing missing.
 */
function imageStatus(
  repos: RepoContent[],
  s: {
    missing: Map<string, { entry: BundleEntry; digest: string }>;
    manifestPresent: Set<string>;
    tagPresent: Set<string>;
    manifestBytes: Map<string, Buffer>;
  },
): PushImageStatus[] {
  const images: PushImageStatus[] = [];
  for (const r of repos) {
    const byDigest = new Map<string, string[]>();
    for (const t of r.tags) byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t.tag]);
    const missingByDigest = new Map<string, BundleEntry>();
    for (const m of s.missing.values())
      if (m.entry.path.startsWith(`v2/${r.repository}/blobs/`)) missingByDigest.set(m.digest, m.entry);
    for (const [digest, tags] of byDigest) {
      const blobs = blobsOf(r.repository, digest, s.manifestBytes);
      const missingBlobs = blobs ? [...blobs].filter((d) => missingByDigest.has(d)) : [];
      images.push({
        repository: r.repository,
        destination: `${r.dest.registry}/${r.dest.repository}`,
        digest,
        tags,
        ...(blobs ? { blobsPresent: blobs.size - missingBlobs.length } : {}),
        blobsToPush: missingBlobs.length,
        bytesToPush: missingBlobs.reduce((n, d) => n + (missingByDigest.get(d)?.size ?? 0), 0),
        manifestPresent:
          s.manifestPresent.has(`${r.dest.repository}@${digest}`) &&
          tags.every((t) => s.tagPresent.has(`${r.dest.repository}:${t}`)),
      });
    }
  }
  return images;
}

/** Config and layer digests of an image or of all children of an index; undefined when a manifest was not read. */
function blobsOf(
  repository: string,
  digest: string,
  bytes: Map<string, Buffer>,
  depth = 0,
): Set<string> | undefined {
  const b = bytes.get(`${repository}@${digest}`);
  if (!b || depth > 2) return undefined;
  const m = parseManifest(b);
  const out = new Set<string>();
  if (m.config) out.add(m.config.digest);
  for (const l of m.layers) out.add(l.digest);
  for (const c of m.manifests) {
    const sub = blobsOf(repository, c.digest, bytes, depth + 1);
    if (!sub) return undefined;
    for (const d of sub) out.add(d);
  }
  return out;
}
