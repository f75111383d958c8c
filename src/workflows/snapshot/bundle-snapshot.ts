/**
 * What a bundle holds, as an image set, offline: from bundle.json as `openBundle` reads
 * it (checked against SHA256SUMS, the seal `bale verify` starts from, and parsed by
 * bale's strict index parser). Names are the bundle's repositories under `v2/`. With `verify`, the full
 * `verifyBundle` workflow (every volume, every entry, signatures) runs first and any
 * problem stops the snapshot.
 */
import { resolve } from 'node:path';
import type { BundleIndex } from '../../bundle/index-schema.js';
import { openBundle } from '../../bundle/open-bundle.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { ImageSet } from '../../sets/inventory.js';
import type { Keyring } from '../../signature/keyring.js';
import { verifyBundle } from '../../bundle/verify-bundle.js';

export interface BundleSnapshotOptions {
  bundleDir: string;
  minimal?: boolean;
  /** Run the full verification first (reads every volume). */
  verify?: { keyrings?: Keyring[]; progress?: Progress };
  /** Stops the verification's volume reads. */
  signal?: AbortSignal;
}

export async function collectBundleSet(o: BundleSnapshotOptions): Promise<ImageSet> {
  const dir = resolve(o.bundleDir);
  if (o.verify !== undefined) {
    const report = await verifyBundle(dir, {
      ...(o.verify.keyrings !== undefined ? { keyrings: o.verify.keyrings } : {}),
      ...(o.verify.progress !== undefined ? { progress: o.verify.progress } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    if (!report.ok) {
      const first = report.problems[0];
      throw new BaleError(
        'E_VERIFY_FAILED',
        `${dir} failed verification (${report.problems.length} problem(s)${first ? `; first: ${first.message}` : ''})`,
        {
          hint: `Run bale verify ${dir} for the list, then get an intact copy.`,
          details: { problems: report.problems.length },
        },
      );
    }
  }
  return setFromIndex((await openBundle(dir)).index, Boolean(o.minimal));
}

export function setFromIndex(index: BundleIndex, minimal: boolean): ImageSet {
  const set = new ImageSet();
  for (const im of index.images) {
    set.add({ name: im.repository, digest: im.digest, tags: im.tags, bytes: im.size });
    if (!minimal)
      for (const child of im.children ?? []) set.add({ name: im.repository, digest: child, tags: [] });
  }
  return set;
}
