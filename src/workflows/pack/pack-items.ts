import { sha256Hex } from '../../digest.js';
import { BaleError } from '../../errors.js';
import { blobEntryPath, manifestEntryPath } from '../../bundle/entry-path.js';
import type { Repo } from '../../registry/client.js';
import type { SourceCandidate } from '../../registry/mirror-sources.js';
import { treeBlobs, treeManifests, type CollectedImage } from '../../registry/manifest-tree.js';

/**
 * What pack writes, in the order it writes it. The order depends only on the inputs
 * (manifests, signatures), never on timing, so volumes are byte-identical across runs:
 *   1. every blob, repository by repository, in first-appearance order;
 *   2. every manifest, children before parents, each with its hard link and tags (one group);
 *   3. config/ (signature ConfigMaps), then signatures/.
 * Blobs come before the manifests that name them, so unpack can push in stream order.
 */
export type PackItem =
  | {
      kind: 'blob';
      path: string;
      size: number;
      digest: string;
      src: Repo;
      /** Sources to fall back on (src first), when mirrors are configured. */
      sources?: SourceCandidate[];
      group: number;
    }
  | { kind: 'bytes'; path: string; size: number; data: Buffer; digest?: string; group: number }
  | { kind: 'hardlink'; path: string; target: string; group: number }
  | { kind: 'symlink'; path: string; target: string; group: number };

export interface ExtraFile {
  path: string;
  data: Buffer;
}

export function buildPackItems(images: CollectedImage[], extras: ExtraFile[]): PackItem[] {
  const items: PackItem[] = [];
  let group = 0;

  // Repositories in the order their first image appears.
  const repos: string[] = [];
  for (const img of images) if (!repos.includes(img.repository)) repos.push(img.repository);

  for (const repo of repos) {
    const seen = new Set<string>();
    for (const img of images.filter((i) => i.repository === repo)) {
      for (const b of treeBlobs(img.root)) {
        if (seen.has(b.digest)) continue;
        seen.add(b.digest);
        items.push({
          kind: 'blob',
          path: blobEntryPath(repo, b.digest),
          size: b.size,
          digest: b.digest,
          src: img.src,
          ...(img.sources && img.sources.length > 1 ? { sources: img.sources } : {}),
          group: group++,
        });
      }
    }
  }

  for (const repo of repos) {
    const written = new Set<string>();
    const tagsOf = new Map<string, string[]>();
    const tagged = new Set<string>();
    for (const img of images.filter((i) => i.repository === repo)) {
      for (const tag of img.tags) {
        if (tagged.has(tag)) {
          throw new BaleError('E_RELEASE_INVALID', `tag ${tag} would name two images in ${repo}`, {
            hint: 'Two images map to the same tag; check the release image-references and --image arguments.',
          });
        }
        tagged.add(tag);
        tagsOf.set(img.root.digest, [...(tagsOf.get(img.root.digest) ?? []), tag]);
      }
    }
    for (const img of images.filter((i) => i.repository === repo)) {
      for (const m of treeManifests(img.root)) {
        if (written.has(m.digest)) continue;
        written.add(m.digest);
        const g = group++;
        const blob = blobEntryPath(repo, m.digest);
        items.push({
          kind: 'bytes',
          path: blob,
          size: m.bytes.length,
          data: m.bytes,
          digest: m.digest,
          group: g,
        });
        items.push({ kind: 'hardlink', path: manifestEntryPath(repo, m.digest), target: blob, group: g });
        for (const tag of (tagsOf.get(m.digest) ?? []).sort()) {
          items.push({ kind: 'symlink', path: manifestEntryPath(repo, tag), target: m.digest, group: g });
        }
      }
    }
  }

  for (const f of extras) {
    items.push({ kind: 'bytes', path: f.path, size: f.data.length, data: f.data, group: group++ });
  }

  const paths = new Set<string>();
  for (const item of items) {
    if (paths.has(item.path))
      throw new BaleError('E_RELEASE_INVALID', `two entries would have the path ${item.path}`);
    paths.add(item.path);
  }
  return items;
}

/** Fingerprint of a plan: a resumed pack must be writing exactly the same bundle. */
export function planFingerprint(items: PackItem[], volumeSize: number, level: number): string {
  const summary = items.map((i) => {
    switch (i.kind) {
      case 'blob':
        return [i.path, i.size, i.digest];
      case 'bytes':
        return [i.path, i.size, sha256Hex(i.data)];
      default:
        return [i.path, i.kind, i.target];
    }
  });
  return sha256Hex(JSON.stringify({ v: 1, volumeSize, level, summary }));
}
