import { stat, statfs } from 'node:fs/promises';
import { BaleError } from '../errors.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export interface SpaceNeed {
  /** Upper bound of the volumes still to write. */
  volumes: number;
  /** Staged downloads on disk at the worst moment, less what is already staged. */
  staging: number;
  needed: number;
}

/**
 * What a pack still needs on the target, from sizes alone (the manifests' sizes and the
 * volume plan's bounds): every volume not yet written, plus the blobs staged at once —
 * never more than one volume's worth plus the staging window, nor more than all the
 * blobs still needed. Bytes already staged by an interrupted run are already taken
 * from the free space, so they are not counted again.
 */
export function spaceNeeded(o: {
  volumeBounds: readonly number[];
  blobSizes: readonly number[];
  stagedBytes: number;
  windowBytes: number;
}): SpaceNeed {
  const volumes = o.volumeBounds.reduce((a, b) => a + b, 0);
  const largestVolume = Math.max(0, ...o.volumeBounds);
  const blobBytes = o.blobSizes.reduce((a, b) => a + b, 0);
  const staging = Math.max(0, Math.min(blobBytes, largestVolume + o.windowBytes) - o.stagedBytes);
  return { volumes, staging, needed: volumes + staging };
}

/** Throws E_NO_SPACE when `available` bytes are less than `need.needed`. */
export function assertSpace(dir: string, available: number, need: SpaceNeed): void {
  if (available >= need.needed) return;
  throw new BaleError(
    'E_NO_SPACE',
    `${dir} has ${fmt(available)} free; this pack needs up to ${fmt(need.needed)}`,
    {
      hint:
        `That is ${fmt(need.volumes)} of volumes plus ${fmt(need.staging)} of staged downloads.` +
        ' Free space, or pack onto a larger disk (or a smaller --volume-size to stage less at once).',
      details: { path: dir, available, needed: need.needed, volumes: need.volumes, staging: need.staging },
    },
  );
}

/** Free bytes for an unprivileged writer at `dir`, or undefined when the system cannot say. */
export async function freeSpace(dir: string): Promise<number | undefined> {
  const fs = await statfs(dir).catch(() => undefined);
  return fs ? fs.bavail * fs.bsize : undefined;
}

/** Bytes of `paths` on disk (missing files count 0). */
export async function bytesOnDisk(paths: readonly string[]): Promise<number> {
  let total = 0;
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st?.isFile()) total += st.size;
  }
  return total;
}

function fmt(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}
