/**
 * The image promoter's set semantics, per image (name + manifest digest). With M the
 * images wanted, S what the source has and D what the destination has:
 *
 * - present = M ∩ D: nothing to do (but tags D lacks are listed in `tagsToAdd`);
 * - copy    = (M ∩ S) \ D: to carry or copy;
 * - missing = M \ (S ∪ D): wanted, but neither side has it.
 *
 * And per blob: of the blobs the `copy` images need, those the far side already holds
 * (every blob of a `present` image, and any digest the caller knows is there) need not
 * be carried. Blob presence is per digest, not per repository: bale's unpack mounts a
 * blob from another repository of the same registry instead of uploading it again.
 */
import { compareImages, compareStrings, type BlobRef, type ImageSet, type SetImage } from './inventory.js';

export interface PlannedImage {
  name: string;
  digest: string;
  /** The tags M wants. */
  tags: string[];
  /** Bytes when M knows them (manifest, config, layers, children). */
  bytes?: number;
  /** present only: tags M wants that D does not have yet. */
  tagsToAdd?: string[];
}

export interface SetTotals {
  images: number;
  /** Sum of the known sizes. */
  bytes: number;
  /** Images whose size is not known (not counted in bytes). */
  unknownSize: number;
}

export interface SetPlan {
  present: PlannedImage[];
  copy: PlannedImage[];
  missing: PlannedImage[];
  totals: { present: SetTotals; copy: SetTotals; missing: SetTotals };
}

/** Sorts M into present, copy and missing (each sorted by name, then digest). */
export function planSets(wanted: ImageSet, source: ImageSet, destination: ImageSet): SetPlan {
  const plan: SetPlan = {
    present: [],
    copy: [],
    missing: [],
    totals: { present: emptyTotals(), copy: emptyTotals(), missing: emptyTotals() },
  };
  for (const m of wanted.images()) {
    const entry: PlannedImage = { name: m.name, digest: m.digest, tags: m.tags };
    if (m.bytes !== undefined) entry.bytes = m.bytes;
    const there = destination.get(m.name, m.digest);
    let side: keyof SetPlan['totals'];
    if (there !== undefined) {
      side = 'present';
      const have = new Set(there.tags);
      const toAdd = m.tags.filter((t) => !have.has(t));
      if (toAdd.length > 0) entry.tagsToAdd = toAdd;
    } else if (source.has(m.name, m.digest)) side = 'copy';
    else side = 'missing';
    plan[side].push(entry);
    const t = plan.totals[side];
    t.images++;
    if (m.bytes === undefined) t.unknownSize++;
    else t.bytes += m.bytes;
  }
  for (const side of ['present', 'copy', 'missing'] as const) plan[side].sort(compareImages);
  return plan;
}

function emptyTotals(): SetTotals {
  return { images: 0, bytes: 0, unknownSize: 0 };
}

export interface BlobPlan {
  /** Blobs the copy needs that the far side lacks: to carry. Sorted by digest, each once. */
  carry: BlobRef[];
  /** Blobs the copy needs that the far side already has. */
  skip: BlobRef[];
  carryBytes: number;
  skipBytes: number;
  /** Copy images whose blobs are not known (their bytes cannot be split). */
  unknownImages: { name: string; digest: string }[];
}

/**
 * The blobs to carry for `plan.copy`: each blob of a copy image once, minus the blobs
 * of present images (D holds those images whole) and minus `farSideHas` (digests known
 * to be at the destination, e.g. from a previous bundle or a HEAD check).
 */
export function planBlobs(plan: SetPlan, wanted: ImageSet, farSideHas: Iterable<string> = []): BlobPlan {
  const have = new Set(farSideHas);
  for (const p of plan.present) {
    have.add(p.digest);
    for (const b of blobsOf(wanted.get(p.name, p.digest))) have.add(b.digest);
  }
  const needed = new Map<string, BlobRef>();
  const unknownImages: BlobPlan['unknownImages'] = [];
  for (const c of plan.copy) {
    const im = wanted.get(c.name, c.digest);
    if (im?.blobs === undefined) {
      unknownImages.push({ name: c.name, digest: c.digest });
      continue;
    }
    for (const b of im.blobs) if (!needed.has(b.digest)) needed.set(b.digest, b);
  }
  const out: BlobPlan = { carry: [], skip: [], carryBytes: 0, skipBytes: 0, unknownImages };
  for (const b of [...needed.values()].sort((x, y) => compareStrings(x.digest, y.digest))) {
    if (have.has(b.digest)) {
      out.skip.push(b);
      out.skipBytes += b.size;
    } else {
      out.carry.push(b);
      out.carryBytes += b.size;
    }
  }
  return out;
}

function blobsOf(image: SetImage | undefined): BlobRef[] {
  return image?.blobs ?? [];
}
