import { BaleError } from '../errors.js';
import type { BundleEntry, BundleEntryType, BundlePart } from './index-schema.js';
import { partPath } from './entry-path.js';

/**
 * Volume planning: which entry goes into which volume, decided from sizes alone so
 * that the plan (and so the bundle) is deterministic and no volume file can exceed
 * the volume size, whatever the data compresses to.
 *
 * The bound for one entry is its tar size (512-byte header, a pax header when the
 * name or link needs one, content rounded up to 512) plus zstd's worst case for
 * incompressible input, taken generously as tar/128 + 1 KiB (zstd's own bound,
 * ZSTD_COMPRESSBOUND, is about size/256 + 64 KiB/2048). A volume adds the tar
 * end-of-archive (1 KiB) and a frame allowance.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * FAT32 caps a file at 4 GiB - 1 byte. The default keeps 1 MiB below 4 GiB so a
 * volume fits there with room to spare: 4,293,918,720 bytes.
 */
export const DEFAULT_VOLUME_SIZE = 4 * GiB - MiB;
/** Below this there is no room for a useful part of a split entry. */
export const MIN_VOLUME_SIZE = 16 * KiB;
/** End-of-archive (1 KiB) plus room for the zstd frame header, last block and checksum. */
export const VOLUME_OVERHEAD = 4 * KiB;
const ENTRY_SLACK = KiB;

export interface PlanInput {
  path: string;
  type: BundleEntryType;
  size: number;
  /** sha256 hex of the content when known (required for a file that may be split). */
  sha256?: string;
  linkTarget?: string;
  /** Consecutive entries with the same group go into the same volume (a manifest, its hard link, its tags). */
  group?: string;
}

export interface PlannedEntry {
  /** Path in the volume: the entry path, or `<path>.part-NNN` for a part. */
  path: string;
  type: BundleEntryType;
  size: number;
  sha256?: string;
  linkTarget?: string;
  /** For a part of a split entry: the whole entry and where this part sits in it. */
  part?: { of: string; index: number; offset: number; total: number; sha256?: string };
}

export interface PlannedVolume {
  name: string;
  entries: PlannedEntry[];
  /** Upper bound of the volume file size for these entries. */
  bound: number;
}

export interface VolumePlan {
  volumeSize: number;
  volumes: PlannedVolume[];
}

export function volumeName(index: number): string {
  return `volume-${String(index).padStart(3, '0')}.tar.zst`;
}

function roundUp512(n: number): number {
  return Math.ceil(n / 512) * 512;
}

function paxRecord(key: string, value: string | undefined): number {
  if (value === undefined) return 0;
  // "<len> <key>=<value>\n" with a length of at most 5 digits for our path limits.
  return Buffer.byteLength(value) + key.length + 8;
}

function needsPax(value: string | undefined): boolean {
  return value !== undefined && (Buffer.byteLength(value) > 100 || !/^[\x20-\x7e]*$/.test(value));
}

/** Bytes the tar stream spends on one entry. */
export function tarEntryBytes(path: string, size: number, linkTarget?: string): number {
  let header = 512;
  if (needsPax(path) || needsPax(linkTarget)) {
    header += 512 + roundUp512(paxRecord('path', path) + paxRecord('linkpath', linkTarget));
  }
  return header + roundUp512(size);
}

/** Upper bound of what one entry adds to a compressed volume. */
export function entryBound(path: string, size: number, linkTarget?: string): number {
  const tar = tarEntryBytes(path, size, linkTarget);
  return tar + Math.ceil(tar / 128) + ENTRY_SLACK;
}

/** Largest content size whose bound fits in `free` for an entry named `path`, rounded to 512. */
function capacity(path: string, free: number): number {
  const header = tarEntryBytes(path, 0);
  const tar = Math.floor(((free - ENTRY_SLACK) * 128) / 129);
  let size = Math.floor((tar - header) / 512) * 512;
  while (size > 0 && entryBound(path, size) > free) size -= 512;
  return Math.max(0, size);
}

/**
 * Assigns entries to volumes in order. Throws E_USAGE when the volume size is too small
 * or a group cannot fit in one volume.
 */
export function planVolumes(inputs: readonly PlanInput[], opts: { volumeSize: number }): VolumePlan {
  const volumeSize = opts.volumeSize;
  if (!Number.isSafeInteger(volumeSize) || volumeSize < MIN_VOLUME_SIZE) {
    throw new BaleError(
      'E_USAGE',
      `volume size ${volumeSize} is below the minimum of ${MIN_VOLUME_SIZE} bytes`,
      {
        hint: 'Choose a volume size of at least 16KiB (the default is 4GiB - 1MiB, which fits FAT32).',
      },
    );
  }
  const room = volumeSize - VOLUME_OVERHEAD;
  const volumes: PlannedVolume[] = [];
  let current: PlannedVolume | undefined;
  const used = (): number => (current ? current.bound - VOLUME_OVERHEAD : 0);
  const open = (): PlannedVolume => {
    current = { name: volumeName(volumes.length + 1), entries: [], bound: VOLUME_OVERHEAD };
    volumes.push(current);
    return current;
  };

  // Cut the input into groups: consecutive entries sharing a group key, or single entries.
  const groups: PlanInput[][] = [];
  for (const input of inputs) {
    if (!Number.isSafeInteger(input.size) || input.size < 0) {
      throw new BaleError('E_USAGE', `entry ${input.path} has an invalid size ${input.size}`);
    }
    const last = groups[groups.length - 1];
    const lastKey = last?.[0]?.group;
    if (last && input.group !== undefined && lastKey === input.group) last.push(input);
    else groups.push([input]);
  }

  for (const group of groups) {
    const bound = group.reduce((n, e) => n + entryBound(e.path, e.size, e.linkTarget), 0);
    const only = group[0];
    if (bound > room && group.length === 1 && only !== undefined && only.type === 'file') {
      splitEntry(only);
      continue;
    }
    if (bound > room) {
      throw new BaleError(
        'E_USAGE',
        `entries ${group.map((e) => e.path).join(', ')} need ${bound} bytes together, more than a volume of ${volumeSize} bytes holds`,
        { hint: 'Choose a larger volume size.' },
      );
    }
    let vol = current;
    if (vol === undefined || used() + bound > room) vol = open();
    for (const e of group) vol.entries.push(planned(e));
    vol.bound += bound;
  }
  return { volumeSize, volumes };

  function splitEntry(entry: PlanInput): void {
    if (entry.sha256 === undefined) {
      throw new BaleError(
        'E_USAGE',
        `entry ${entry.path} must be split across volumes but has no known sha256`,
      );
    }
    const full = capacity(partPath(entry.path, 999), room);
    let offset = 0;
    let index = 1;
    while (offset < entry.size) {
      const name = partPath(entry.path, index);
      let vol = current;
      let free = vol === undefined ? 0 : room - used();
      let cap = capacity(name, free);
      // Use what is left of the current volume only if it takes a fair share.
      if (vol === undefined || cap < Math.min(full / 8, entry.size - offset)) {
        vol = open();
        free = room;
        cap = capacity(name, free);
      }
      const size = Math.min(cap, entry.size - offset);
      vol.entries.push({
        path: name,
        type: 'file',
        size,
        part: { of: entry.path, index, offset, total: entry.size, sha256: entry.sha256 },
      });
      vol.bound += entryBound(name, size);
      offset += size;
      index++;
    }
  }
}

function planned(e: PlanInput): PlannedEntry {
  const p: PlannedEntry = { path: e.path, type: e.type, size: e.type === 'file' ? e.size : 0 };
  if (e.sha256 !== undefined && e.type === 'file') p.sha256 = e.sha256;
  if (e.linkTarget !== undefined) p.linkTarget = e.linkTarget;
  return p;
}

/**
 * Merges what the writer returned for each volume (in plan order) into the index's
 * entry list: split entries come back together with their `parts`.
 */
export function assembleEntries(
  plan: VolumePlan,
  written: readonly { name: string; entries: readonly BundleEntry[] }[],
): BundleEntry[] {
  const out: BundleEntry[] = [];
  const split = new Map<string, BundleEntry>();
  plan.volumes.forEach((vol, vi) => {
    const w = written[vi];
    if (w === undefined || w.name !== vol.name || w.entries.length !== vol.entries.length) {
      throw new BaleError('E_USAGE', `written volume ${vi + 1} does not match the plan`);
    }
    vol.entries.forEach((pe, ei) => {
      const we = w.entries[ei] as BundleEntry;
      if (pe.part === undefined) {
        out.push(we);
        return;
      }
      let whole = split.get(pe.part.of);
      if (whole === undefined) {
        whole = { path: pe.part.of, type: 'file', size: pe.part.total, parts: [] };
        if (pe.part.sha256 !== undefined) whole.sha256 = pe.part.sha256;
        split.set(pe.part.of, whole);
        out.push(whole);
      }
      const part: BundlePart = {
        volume: vol.name,
        path: pe.path,
        offset: pe.part.offset,
        size: pe.size,
        sha256: we.sha256 ?? '',
      };
      whole.parts?.push(part);
    });
  });
  return out;
}
