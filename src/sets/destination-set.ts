/**
 * D for `bale plan --to REGISTRY/PREFIX`, live: for each wanted image, whether the
 * destination holds its digest under `<prefix>/<name>` (HEAD by digest), and which of
 * its wanted tags already point at it (HEAD by tag). Only what M asks about is
 * queried, so a large mirror costs no more than the plan.
 */
import type { RegistryClient } from '../registry/client.js';
import { underPrefix, type RegistryTarget } from '../registry/registry-target.js';
import { ImageSet } from './inventory.js';

export async function destinationSet(
  client: RegistryClient,
  target: RegistryTarget,
  wanted: ImageSet,
  signal?: AbortSignal,
): Promise<ImageSet> {
  const have = new ImageSet();
  await Promise.all(
    wanted.images().map(async (m) => {
      signal?.throwIfAborted();
      if (m.digest === '') return;
      const repo = { registry: target.registry, repository: underPrefix(target, m.name) };
      const head = await client.headManifest(repo, m.digest);
      if (head === undefined) return;
      const tags: string[] = [];
      for (const t of m.tags) {
        const byTag = await client.headManifest(repo, t);
        if (byTag?.digest === m.digest) tags.push(t);
      }
      have.add({ name: m.name, digest: m.digest, tags });
    }),
  );
  return have;
}
