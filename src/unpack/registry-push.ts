import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { BundleEntry, BundleIndex } from '../bundle/index-schema.js';
import { readVolume } from '../bundle/volume-reader.js';
import { BaleError } from '../errors.js';
import { parseLayoutPath } from '../layout/paths.js';
import { expectedEntries } from '../workflows/verify.js';
import type { Progress } from '../progress.js';
import type { RegistryClient, Repo } from '../registry/client.js';
import { parseManifest } from '../registry/manifest.js';
import { openBundleEntry, volumesOf } from './bundle-source.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

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
  blobsPresent: number;
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
    const p = parseLayoutPath(e.path);
    if (!p) continue;
    const r = get(p.repository);
    if (p.kind === 'blob' && e.type === 'file') {
      r.blobs.push(e);
      r.blobDigest.set(e.path, p.name);
    } else if (p.kind === 'manifest' && e.type === 'hardlink') {
      r.manifests.push(p.name);
    } else if (p.kind === 'manifest' && e.type === 'symlink' && e.linkTarget) {
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
  progress: Progress;
  signal?: AbortSignal;
}): Promise<PushResult> {
  const { client, progress, signal } = o;
  const repos = bundleRepositories(o.index, o.dest);
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

  // 1. What does the registry have already?
  progress.phase('check destination', { items: repos.reduce((n, r) => n + r.blobs.length + r.manifests.length, 0) });
  const present = new Map<string, Set<string>>(); // digest → dest repositories that have it
  const missing = new Map<string, { repo: RepoContent; entry: BundleEntry; digest: string }>(); // by entry path
  const manifestPresent = new Set<string>(); // `${destRepo}@${digest}`
  await Promise.all(
    repos.flatMap((r) => [
      ...r.blobs.map((b) =>
        limit(async () => {
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
      ),
      ...r.manifests.map((d) =>
        limit(async () => {
          signal?.throwIfAborted();
          if (await client.headManifest(r.dest, d)) manifestPresent.add(`${r.dest.repository}@${d}`);
          progress.advance(0, 1);
        }),
      ),
    ]),
  );

  for (const r of repos) {
    for (const t of r.tags) {
      const missingBlobs = r.blobs.filter((b) => missing.has(b.path));
      result.images.push({
        repository: r.repository,
        destination: `${r.dest.registry}/${r.dest.repository}`,
        digest: t.digest,
        tags: [t.tag],
        blobsPresent: r.blobs.length - missingBlobs.length,
        blobsToPush: missingBlobs.length,
        bytesToPush: missingBlobs.reduce((n, b) => n + b.size, 0),
        manifestPresent: manifestPresent.has(`${r.dest.repository}@${t.digest}`),
      });
    }
  }
  if (o.dryRun) return result;

  // 2. Blobs, read volume by volume; manifests' bytes are collected on the way.
  const manifestBytes = new Map<string, Buffer>(); // `${repository}@${digest}`
  const wantManifests = new Map<string, RepoContent>(); // entry path of the manifest blob → repo
  for (const r of repos) {
    for (const d of r.manifests) {
      if (!manifestPresent.has(`${r.dest.repository}@${d}`) || r.tags.some((t) => t.digest === d)) {
        wantManifests.set(`v2/${r.repository}/blobs/${d}`, r);
      }
    }
  }
  const pushed = new Map<string, string[]>(); // digest → dest repositories we pushed it to
  const pushOne = async (m: { repo: RepoContent; entry: BundleEntry; digest: string }, first: Readable | undefined) => {
    const mountFrom = [...(present.get(m.digest) ?? []), ...(pushed.get(m.digest) ?? [])].filter(
      (x) => x !== m.repo.dest.repository,
    );
    let used = false;
    const open = (): Readable => {
      if (first && !used) {
        used = true;
        return first;
      }
      return openBundleEntry(o.dir, o.index, m.entry);
    };
    const outcome = await client.pushBlob(m.repo.dest, { digest: m.digest, size: m.entry.size }, open, { mountFrom });
    if (outcome === 'uploaded') {
      result.blobsUploaded++;
      result.bytesUploaded += m.entry.size;
    } else if (outcome === 'mounted') result.blobsMounted++;
    else result.blobsPresent++;
    pushed.set(m.digest, [...(pushed.get(m.digest) ?? []), m.repo.dest.repository]);
    progress.advance(m.entry.size);
  };

  const volumesNeeded = new Set<string>();
  for (const m of missing.values()) if (!m.entry.parts) for (const v of volumesOf(m.entry)) volumesNeeded.add(v);
  for (const path of wantManifests.keys()) {
    const e = o.index.entries.find((x) => x.path === path);
    if (e) for (const v of volumesOf(e)) volumesNeeded.add(v);
  }
  progress.phase('push blobs', { bytes: [...missing.values()].reduce((n, m) => n + m.entry.size, 0) });
  for (const volume of o.index.volumes.map((v) => v.name).filter((v) => volumesNeeded.has(v))) {
    signal?.throwIfAborted();
    await readVolume(createReadStream(join(o.dir, volume), { highWaterMark: 1 << 20 }), {
      volume,
      expected: expectedEntries(o.index, volume),
      onEntry: async (e, content) => {
        if (!content) return;
        const m = missing.get(e.path);
        if (m) {
          await pushOne(m, content);
          return;
        }
        if (wantManifests.has(e.path)) {
          if (e.size > MAX_MANIFEST_BYTES) {
            throw new BaleError('E_TOO_LARGE', `manifest ${e.path} in ${volume} is ${e.size} bytes`);
          }
          const chunks: Buffer[] = [];
          for await (const c of content) chunks.push(c as Buffer);
          const repo = wantManifests.get(e.path);
          manifestBytes.set(`${repo?.repository}@${e.path.slice(e.path.lastIndexOf('/') + 1)}`, Buffer.concat(chunks));
        }
      },
    });
  }
  // Blobs split across volumes stream from their parts in order.
  for (const m of missing.values()) {
    if (m.entry.parts) await pushOne(m, undefined);
  }

  // 3. Manifests, children first, then tags.
  progress.phase('push manifests', { items: repos.reduce((n, r) => n + r.manifests.length + r.tags.length, 0) });
  for (const r of repos) {
    const bytesOf = (d: string): Buffer => {
      const b = manifestBytes.get(`${r.repository}@${d}`);
      if (!b) throw new BaleError('E_BUNDLE_INCOMPLETE', `manifest ${d} of ${r.repository} was not found in the volumes`);
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
      const head = await client.headManifest(r.dest, t.tag);
      if (head?.digest === t.digest) {
        result.tagsPresent++;
      } else {
        const bytes = bytesOf(t.digest);
        await client.putManifest(r.dest, t.tag, bytes, parseManifest(bytes).mediaType);
        result.tagsPushed++;
      }
      progress.advance(0, 1);
    }
  }
  return result;
}
