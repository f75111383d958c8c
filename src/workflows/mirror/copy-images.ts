/**
 * The copy phase of `bale mirror --confirm`: every image of the plan's copy set goes
 * from its source repository to `<prefix>/<name>` at the destination with its digest
 * unchanged. Blobs stream registry to registry (never held whole), mounted from a
 * repository already written when possible; manifests go children first with their
 * original bytes; tags go last, once every manifest is in place, so that no tag ever
 * points at something incomplete. What the destination already holds is skipped.
 */
import pLimit from 'p-limit';
import { collectManifest, treeBlobs, treeManifests } from '../../registry/manifest-tree.js';
import type { RegistryClient, Repo } from '../../registry/client.js';
import { underPrefix, type RegistryTarget } from '../../registry/registry-target.js';
import type { Progress } from '../../progress.js';
import type { PlanEntry } from '../../sets/plan-images.js';

export interface CopyStats {
  images: number;
  manifests: number;
  tags: number;
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesUploaded: number;
}

export interface CopyInput {
  src: RegistryClient;
  dst: RegistryClient;
  target: RegistryTarget;
  copy: readonly PlanEntry[];
  /** Present images whose wanted tags the destination lacks. */
  retag: readonly PlanEntry[];
  concurrency: number;
  progress: Progress;
  signal?: AbortSignal;
}

/** `registry/repository` (as a plan entry's `source`) to a Repo. */
export function sourceRepo(source: string): Repo {
  const slash = source.indexOf('/');
  return { registry: source.slice(0, slash), repository: source.slice(slash + 1) };
}

export async function copyImages(c: CopyInput): Promise<CopyStats> {
  const stats: CopyStats = {
    images: 0,
    manifests: 0,
    tags: 0,
    blobsUploaded: 0,
    blobsMounted: 0,
    blobsPresent: 0,
    bytesUploaded: 0,
  };
  const written = new Set<string>();
  const limit = pLimit(Math.max(1, c.concurrency));
  const tagging: { repo: Repo; tag: string; bytes: Buffer; mediaType: string }[] = [];
  c.progress.phase('copy', { items: c.copy.length });
  await Promise.all(
    c.copy.map(async (e) => {
      c.signal?.throwIfAborted();
      const from = sourceRepo(e.source);
      const to: Repo = { registry: c.target.registry, repository: underPrefix(c.target, e.name) };
      const root = await collectManifest(c.src, from, e.digest);
      await Promise.all(
        treeBlobs(root).map((b) =>
          limit(async () => {
            c.signal?.throwIfAborted();
            const desc = { digest: b.digest, size: b.size };
            const mountFrom = [...written].filter((r) => r !== to.repository);
            const how = await c.dst.pushBlob(to, desc, () => c.src.openBlob(from, desc), { mountFrom });
            if (how === 'uploaded') {
              stats.blobsUploaded++;
              stats.bytesUploaded += b.size;
            } else if (how === 'mounted') stats.blobsMounted++;
            else stats.blobsPresent++;
            c.progress.advance(b.size, 0);
          }),
        ),
      );
      for (const m of treeManifests(root)) {
        c.signal?.throwIfAborted();
        await c.dst.putManifest(to, m.digest, m.bytes, m.mediaType);
        stats.manifests++;
      }
      written.add(to.repository);
      for (const tag of e.tags) tagging.push({ repo: to, tag, bytes: root.bytes, mediaType: root.mediaType });
      stats.images++;
      c.progress.advance(0, 1);
    }),
  );
  for (const e of c.retag) {
    const to: Repo = { registry: c.target.registry, repository: underPrefix(c.target, e.name) };
    const m = await c.dst.getManifest(to, e.digest);
    for (const tag of e.tagsToAdd ?? [])
      tagging.push({ repo: to, tag, bytes: m.bytes, mediaType: m.mediaType });
  }
  c.progress.phase('tags', { items: tagging.length });
  for (const t of tagging) {
    c.signal?.throwIfAborted();
    await c.dst.putManifest(t.repo, t.tag, t.bytes, t.mediaType);
    stats.tags++;
    c.progress.advance(0, 1);
  }
  return stats;
}
