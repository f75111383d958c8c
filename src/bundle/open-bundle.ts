/**
 * One way to open a bundle: bundle.json as read and checked against SHA256SUMS, and
 * readers for its volumes and entries. Verify, unpack (registry and directory), the
 * release references, snapshot's bundle reader and pack's read-back all start here.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BundleEntry, BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import { openBundleEntry, volumesOf } from './bundle-source.js';
import { expectedEntries } from './expected-entries.js';
import { readFileChunks } from './file-chunks.js';
import { readVolume, type ReadVolumeOptions, type ReadVolumeResult } from './volume-reader.js';
import { readBundleFiles } from './verify-steps/bundle-files.js';
import { BaleError } from '../errors.js';

export { volumesOf } from './bundle-source.js';

export interface VolumeReadOptions extends Omit<ReadVolumeOptions, 'volume' | 'expected'> {
  /** The volume's bytes (default: the file, read front to back). */
  source?: AsyncIterable<Buffer | Uint8Array>;
  /** Stops the read (the handler sees the abort on its next entry or chunk). */
  signal?: AbortSignal;
}

export interface OpenedBundle {
  dir: string;
  /** bundle.json's bytes as read (the ones SHA256SUMS and bundle.json.asc vouch for). */
  rawIndex: Buffer;
  index: BundleIndex;
  /** SHA256SUMS by file name (undefined when verify could not read it). */
  sums?: Map<string, string>;
  /** Volume names in bundle order. */
  volumes: string[];
  /** The path of a volume file. */
  volumePath(name: string): string;
  /** Reads one volume (zstd → strict tar), checking every entry against the index. */
  readVolume(name: string, opts?: VolumeReadOptions): Promise<ReadVolumeResult>;
  /** One entry's checked content, from its volume(s); parts of a split entry are joined. */
  openEntry(entry: BundleEntry, opts?: { signal?: AbortSignal }): Readable;
  /** Volumes holding (a part of) any of these entry paths, in bundle order. */
  volumesHolding(paths: Iterable<string>): string[];
}

/** Wraps an index already read and checked (verify's step 1) with the bundle's readers. */
export function bundleOf(
  dir: string,
  files: { rawIndex: Buffer; index: BundleIndex; sums?: Map<string, string> },
): OpenedBundle {
  const { index } = files;
  return {
    dir,
    rawIndex: files.rawIndex,
    index,
    ...(files.sums ? { sums: files.sums } : {}),
    volumes: index.volumes.map((v) => v.name),
    volumePath: (name) => join(dir, name),
    readVolume: (name, opts = {}) => {
      const { source, signal, onEntry, ...rest } = opts;
      return readVolume(source ?? readFileChunks(join(dir, name)), {
        ...rest,
        volume: name,
        expected: expectedEntries(index, name),
        ...(onEntry
          ? {
              onEntry: (e, content) => {
                signal?.throwIfAborted();
                return onEntry(e, content);
              },
            }
          : {}),
      });
    },
    openEntry: (entry, opts) => openBundleEntry(dir, index, entry, opts),
    volumesHolding: (paths) => {
      const wanted = new Set(paths);
      const vols = new Set<string>();
      for (const e of index.entries) if (wanted.has(e.path)) for (const v of volumesOf(e)) vols.add(v);
      return index.volumes.map((v) => v.name).filter((v) => vols.has(v));
    },
  };
}

/**
 * Opens the bundle in `dir`: bundle.json read (a regular file, size-capped), parsed
 * strictly and checked against its line in SHA256SUMS. The first problem is thrown
 * (E_BUNDLE_INCOMPLETE, E_BUNDLE_INVALID, E_BUNDLE_CORRUPT), the others in its details.
 */
export async function openBundle(dir: string): Promise<OpenedBundle> {
  const problems: Problem[] = [];
  const files = await readBundleFiles(dir, (p) => problems.push(p), { wholeBundle: false });
  const first = problems[0];
  if (first !== undefined || files.rawIndex === undefined || files.index === undefined) {
    const where = first?.file !== undefined ? join(dir, first.file) : dir;
    throw new BaleError(
      first?.code ?? 'E_BUNDLE_INVALID',
      `${where}: ${first?.message ?? 'bundle.json cannot be read'}`,
      {
        hint: 'Point bale at the directory that holds bundle.json, SHA256SUMS and the volumes; if it is damaged or incomplete, copy it again, then run bale verify.',
        details: { problems },
      },
    );
  }
  return bundleOf(dir, {
    rawIndex: files.rawIndex,
    index: files.index,
    ...(files.sums ? { sums: files.sums } : {}),
  });
}
