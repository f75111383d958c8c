/**
 * Phase 3b (`--have FILE` / `--since DIR`): what the far side already holds, and so
 * what an incremental bundle leaves out.
 *
 * - `--have`: a `bale snapshot` of the disconnected mirror lists manifest digests per
 *   repository. A registry that holds a manifest holds its config, layers and children,
 *   so each manifest is read from the source by digest to learn its blobs; one that
 *   cannot be read is only warned about (its blobs are simply not assumed present).
 * - `--since`: a previous bundle's bundle.json lists every blob it carried (and its own
 *   base, which unpack checked was there): no reads needed.
 *
 * Only blobs are left out; every manifest is still carried (they are small, and every
 * tag, digest and signature anchor then stays checkable on the media). The release image
 * and the graph-data images always carry their own blobs: verify reads the release
 * payload and the graph-data signature from the media.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { INDEX_FILE, MAX_INDEX_BYTES, parseIndex } from '../../bundle/bundle-index.js';
import { parseV2Path } from '../../bundle/entry-path.js';
import type { BundleBase, BundleBaseDigest, BundleIndex } from '../../bundle/index-schema.js';
import { openBundle } from '../../bundle/open-bundle.js';
import { hashFile } from '../../bundle/sha256sums.js';
import { readSmallRegularFile } from '../../bundle/small-file.js';
import { sha256Hex } from '../../digest.js';
import { BaleError, isBaleError, messageOf } from '../../errors.js';
import type { Repo } from '../../registry/client.js';
import { parseManifest } from '../../registry/manifest.js';
import { treeBlobs, treeManifests, type CollectedImage } from '../../registry/manifest-tree.js';
import { readSnapshotFile, type SnapshotDocument } from '../../sets/snapshot-document.js';
import type { PackContext } from './context.js';
import type { PackOptions } from './types.js';

/** Where the far side holds each digest (blobs and manifests), with the size when known. */
export type Holdings = Map<string, { repositories: Set<string>; size?: number }>;

export interface PackBase {
  /** bundle.json's `base`. */
  record: BundleBase;
  /** `repository@digest` of each blob left out of the bundle. */
  skip: Set<string>;
  /** Bytes of the blobs left out. */
  bytes: number;
}

/** Images whose own blobs are always carried: verify reads them from the media. */
const ALWAYS_CARRIED = new Set(['release', 'graph-data', 'graph-data-signature']);

function hold(held: Holdings, digest: string, repository: string, size?: number): void {
  let h = held.get(digest);
  if (h === undefined) {
    h = { repositories: new Set(), size };
    held.set(digest, h);
  }
  h.repositories.add(repository);
  h.size ??= size;
}

/** The base as read from its file, before any connection (a bad one stops pack at once). */
export type LoadedBase =
  | { kind: 'snapshot'; path: string; doc: SnapshotDocument; record: Omit<BundleBase, 'digests'> }
  | { kind: 'bundle'; record: Omit<BundleBase, 'digests'>; held: Holdings };

/** With --have or --since: reads and checks the file (called before the target is touched). */
export async function loadPackBase(o: Pick<PackOptions, 'have' | 'since'>): Promise<LoadedBase | undefined> {
  const { have, since } = o;
  if (have !== undefined && since !== undefined) {
    throw new BaleError('E_USAGE', '--have and --since both name a base: give one', {
      hint: 'Use --have with a snapshot of the far-side mirror, or --since with the previous bundle.',
    });
  }
  if (have !== undefined) {
    const doc = await readSnapshotFile(have);
    const { sha256 } = await hashFile(have);
    return { kind: 'snapshot', path: have, doc, record: { kind: 'snapshot', file: basename(have), sha256 } };
  }
  if (since !== undefined) return { kind: 'bundle', ...(await bundleHoldings(since)) };
  return undefined;
}

/** What the far side holds and so what this bundle leaves out. */
export async function readPackBase(
  ctx: PackContext,
  loaded: LoadedBase | undefined,
  images: CollectedImage[],
): Promise<PackBase | undefined> {
  if (loaded === undefined) return undefined;
  ctx.progress.phase('base');
  const held = loaded.kind === 'bundle' ? loaded.held : await snapshotHoldings(ctx, loaded, images);
  return leaveOut(loaded.record, held, images);
}

/** Decides which blobs to leave out: those the far side holds, except the always-carried ones. */
export function leaveOut(
  record: Omit<BundleBase, 'digests'>,
  held: Holdings,
  images: CollectedImage[],
): PackBase {
  const carried = new Set<string>();
  for (const img of images) {
    if (!ALWAYS_CARRIED.has(img.name)) continue;
    for (const b of treeBlobs(img.root)) carried.add(`${img.repository}@${b.digest}`);
  }
  const skip = new Set<string>();
  const neededIn = new Map<string, { size: number; repositories: Set<string> }>();
  for (const img of images) {
    if (ALWAYS_CARRIED.has(img.name)) continue;
    for (const b of treeBlobs(img.root)) {
      const key = `${img.repository}@${b.digest}`;
      if (carried.has(key) || !held.has(b.digest)) continue;
      skip.add(key);
      const n = neededIn.get(b.digest) ?? { size: b.size, repositories: new Set<string>() };
      n.repositories.add(img.repository);
      neededIn.set(b.digest, n);
    }
  }
  const digests: BundleBaseDigest[] = [];
  let bytes = 0;
  for (const digest of [...neededIn.keys()].sort()) {
    const need = neededIn.get(digest)!;
    const at = held.get(digest)!.repositories;
    const wanted = [...need.repositories].sort();
    // Expected where it is needed when the far side has it there; else mounted from where it is.
    const repository = wanted.find((r) => at.has(r)) ?? [...at].sort()[0]!;
    const mountTo = wanted.filter((r) => r !== repository);
    digests.push({ digest, repository, size: need.size, ...(mountTo.length > 0 ? { mountTo } : {}) });
    bytes += need.size;
  }
  return { record: { ...record, digests }, skip, bytes };
}

/** --have: the snapshot's manifests, read from the source by digest, and their blobs. */
async function snapshotHoldings(
  ctx: PackContext,
  loaded: { path: string; doc: SnapshotDocument },
  images: CollectedImage[],
): Promise<Holdings> {
  const { path, doc } = loaded;
  const held: Holdings = new Map();
  // Manifests this pack collected already need no second read.
  const known = new Map<string, { blobs: { digest: string; size: number }[]; children: string[] }>();
  const sources = new Map<string, Repo[]>();
  for (const img of images) {
    for (const m of treeManifests(img.root)) {
      known.set(`${img.repository}@${m.digest}`, {
        blobs: m.blobs,
        children: m.children.map((c) => c.digest),
      });
    }
    const list = sources.get(img.repository) ?? [];
    if (!list.some((s) => s.registry === img.src.registry && s.repository === img.src.repository))
      list.push(img.src);
    sources.set(img.repository, list);
  }
  const limit = pLimit(ctx.concurrency);
  const unread: string[] = [];
  const visited = new Set<string>();
  const visit = async (name: string, digest: string, depth: number): Promise<void> => {
    const key = `${name}@${digest}`;
    if (visited.has(key) || depth > 2) return;
    visited.add(key);
    hold(held, digest, name);
    const tree = known.get(key) ?? (await limit(() => readFromSource(ctx, sources.get(name) ?? [], digest)));
    if (tree === undefined) {
      unread.push(key);
      return;
    }
    for (const b of tree.blobs) hold(held, b.digest, name, b.size);
    await Promise.all(tree.children.map((c) => visit(name, c, depth + 1)));
  };
  await Promise.all(doc.flatMap((e) => Object.keys(e.dmap).map((d) => visit(e.name, d, 0))));
  if (unread.length > 0) {
    ctx.progress.warn(
      `${unread.length} manifest(s) of ${path} could not be read from the source (e.g. ${unread[0]}): their blobs are carried`,
    );
  }
  return held;
}

async function readFromSource(
  ctx: PackContext,
  candidates: Repo[],
  digest: string,
): Promise<{ blobs: { digest: string; size: number }[]; children: string[] } | undefined> {
  for (const src of candidates) {
    ctx.signal?.throwIfAborted();
    try {
      const m = await ctx.client.getManifest(src, digest);
      const p = parseManifest(m.bytes, m.mediaType);
      return {
        blobs: [...(p.config ? [p.config] : []), ...p.layers],
        children: p.manifests.map((c) => c.digest),
      };
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
    }
  }
  return undefined;
}

/** --since: every blob a previous bundle carried, and its own base. */
export async function bundleHoldings(
  since: string,
): Promise<{ record: Omit<BundleBase, 'digests'>; held: Holdings }> {
  const st = await stat(since).catch((err: NodeJS.ErrnoException) => {
    throw new BaleError(
      'E_USAGE',
      `--since ${since}: ${err.code === 'ENOENT' ? 'does not exist' : messageOf(err)}`,
      {
        hint: 'Give the directory of the previous bundle (or its bundle.json).',
      },
    );
  });
  const file = st.isDirectory() ? join(since, INDEX_FILE) : since;
  const { raw, index } = await sinceIndex(since, file);
  const sha256 = sha256Hex(raw);
  const held: Holdings = new Map();
  for (const e of index.entries) {
    const p = parseV2Path(e.path);
    if (p?.kind === 'blobs' && e.type === 'file') hold(held, p.name, p.repository, e.size);
  }
  for (const d of index.base?.digests ?? []) {
    for (const r of [d.repository, ...(d.mountTo ?? [])]) hold(held, d.digest, r, d.size);
  }
  return { record: { kind: 'bundle', file: basename(file), sha256, created: index.created }, held };
}

/**
 * The previous bundle's index: a bundle directory (or its bundle.json) is opened by
 * `openBundle` (a SHA256SUMS that is there must vouch for bundle.json; one that is
 * missing is tolerated); an index file of another name is parsed as it is.
 */
async function sinceIndex(since: string, file: string): Promise<{ raw: Buffer; index: BundleIndex }> {
  const notBundle = (err: unknown): BaleError =>
    new BaleError(
      'E_USAGE',
      `--since ${since} is not a bale bundle: ${(err as { code?: string }).code === 'ENOENT' ? `no ${INDEX_FILE} in it` : messageOf(err)}`,
      { hint: 'Give the directory of the previous bundle (or its bundle.json).' },
    );
  if (basename(file) !== INDEX_FILE) {
    const raw = await readSmallRegularFile(file, MAX_INDEX_BYTES, file).catch((err: unknown) => {
      throw notBundle(err);
    });
    return { raw, index: parseIndex(raw, file) };
  }
  try {
    const bundle = await openBundle(dirname(file), { unsealed: true });
    return { raw: bundle.rawIndex, index: bundle.index };
  } catch (err) {
    if (!isBaleError(err)) throw err;
    if (err.code === 'E_BUNDLE_INCOMPLETE' || (err.code === 'E_IO' && err.details.file === INDEX_FILE))
      throw notBundle(err);
    throw new BaleError(err.code, `--since ${err.message}`, {
      hint: 'Use an intact copy of the previous bundle (bale verify checks it).',
      details: err.details,
    });
  }
}
