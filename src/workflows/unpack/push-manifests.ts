import { blobEntryPath } from '../../bundle/entry-path.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient } from '../../registry/client.js';
import { parseManifest } from '../../registry/manifest.js';
import type { DestinationState } from './check-destination.js';
import type { RepoContent } from './repositories.js';

/** A manifest's verified bytes by repository and digest (undefined when the bundle lacks it). */
export type ManifestSource = (repository: string, digest: string) => Buffer | undefined;

/** The manifests verify kept (the bytes it checked), never read from the media again. */
export function verifiedManifests(content: ReadonlyMap<string, Buffer> | undefined): ManifestSource {
  return (repository, digest) => content?.get(blobEntryPath(repository, digest));
}

/**
 * Manifests children first with their original bytes, then tags, skipping what the
 * mirror has. Runs only once the whole bundle verified: until then no image is visible.
 */
export async function pushManifests(o: {
  repos: RepoContent[];
  client: RegistryClient;
  state: DestinationState;
  manifests: ManifestSource;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<{ manifestsPushed: number; manifestsPresent: number; tagsPushed: number; tagsPresent: number }> {
  const { client, state, progress, signal } = o;
  const out = { manifestsPushed: 0, manifestsPresent: 0, tagsPushed: 0, tagsPresent: 0 };
  progress.phase('push manifests', {
    items: o.repos.reduce((n, r) => n + r.manifests.length + r.tags.length, 0),
  });
  for (const r of o.repos) {
    const bytesOf = (d: string): Buffer => {
      const b = o.manifests(r.repository, d);
      if (!b)
        throw new BaleError(
          'E_BUNDLE_INCOMPLETE',
          `manifest ${d} of ${r.repository} was not found in the volumes`,
          {
            hint: 'Nothing of this image was made visible in the mirror. Run bale verify on the bundle.',
          },
        );
      return b;
    };
    for (const d of r.manifests) {
      signal?.throwIfAborted();
      if (state.manifestPresent.has(`${r.dest.repository}@${d}`)) {
        out.manifestsPresent++;
      } else {
        const bytes = bytesOf(d);
        await client.putManifest(r.dest, d, bytes, parseManifest(bytes).mediaType);
        out.manifestsPushed++;
      }
      progress.advance(0, 1);
    }
    for (const t of r.tags) {
      signal?.throwIfAborted();
      if (state.tagPresent.has(`${r.dest.repository}:${t.tag}`)) {
        out.tagsPresent++;
      } else {
        const bytes = bytesOf(t.digest);
        await client.putManifest(r.dest, t.tag, bytes, parseManifest(bytes).mediaType);
        out.tagsPushed++;
      }
      progress.advance(0, 1);
    }
  }
  return out;
}
