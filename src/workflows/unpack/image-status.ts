import type { BundleEntry } from '../../bundle/index-schema.js';
import { parseManifest } from '../../registry/manifest.js';
import type { DestinationState } from './check-destination.js';
import type { ManifestSource } from './push-manifests.js';
import type { RepoContent } from './repositories.js';

export interface PushImageStatus {
  repository: string;
  destination: string;
  digest: string;
  tags: string[];
  /** Blobs of the image the registry had (absent when its manifests were not read). */
  blobsPresent?: number;
  blobsToPush: number;
  bytesToPush: number;
  manifestPresent: boolean;
}

/**
 * Per tagged image: is it there, and which of its blobs were missing. Its blobs are
 * known from its manifest (and its children's) as verified.
 */
export function imageStatus(
  repos: RepoContent[],
  s: DestinationState,
  manifests: ManifestSource,
): PushImageStatus[] {
  const images: PushImageStatus[] = [];
  for (const r of repos) {
    const byDigest = new Map<string, string[]>();
    for (const t of r.tags) byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t.tag]);
    const missingByDigest = new Map<string, BundleEntry>();
    for (const m of s.missing.values())
      if (m.entry.path.startsWith(`v2/${r.repository}/blobs/`)) missingByDigest.set(m.digest, m.entry);
    for (const [digest, tags] of byDigest) {
      const blobs = blobsOf(r.repository, digest, manifests);
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

/** Config and layer digests of an image or of all children of an index; undefined when a manifest is unknown. */
function blobsOf(
  repository: string,
  digest: string,
  manifests: ManifestSource,
  depth = 0,
): Set<string> | undefined {
  const b = manifests(repository, digest);
  if (!b || depth > 2) return undefined;
  const m = parseManifest(b);
  const out = new Set<string>();
  if (m.config) out.add(m.config.digest);
  for (const l of m.layers) out.add(l.digest);
  for (const c of m.manifests) {
    const sub = blobsOf(repository, c.digest, manifests, depth + 1);
    if (!sub) return undefined;
    for (const d of sub) out.add(d);
  }
  return out;
}
