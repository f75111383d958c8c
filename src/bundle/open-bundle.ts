/**
 * One way to open a bundle: bundle.json as read and checked against SHA256SUMS, and
 * readers for its volumes and entries. Verify, unpack (registry and directory), inspect,
 * the release references, snapshot's bundle reader and pack's resume all start here.
 */
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { BundleEntry, BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import { expectedEntries } from './expected-entries.js';
import { readFileChunks } from './file-chunks.js';
import { readVolume, type ReadVolumeOptions, type ReadVolumeResult } from './volume-reader.js';
import { SUMS_FILE } from './sha256sums.js';
import { readBundleFiles } from './verify-steps/bundle-files.js';
import { BaleError } from '../errors.js';

export interface VolumeReadOptions extends Omit<ReadVolumeOptions, 'volume' | 'expected'> {
  /** The volume's bytes (default: the file, read front to back). */
  source?: AsyncIterable<Buffer | Uint8Array>;
  /** Stops the read: the file read and the handler see the abort on the next chunk or entry. */
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

/** Volumes that hold (a part of) an entry, in order. */
export function volumesOf(entry: BundleEntry): string[] {
  if (entry.parts) return entry.parts.map((p) => p.volume);
  return entry.volume ? [entry.volume] : [];
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
      // An abort is the signal's reason, never reported as a damaged volume.
      const interrupted = (err: unknown): never => {
        signal?.throwIfAborted();
        throw err;
      };
      return readVolume(source ?? readFileChunks(join(dir, name), undefined, signal), {
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
      }).catch(interrupted);
    },
    openEntry: (entry, opts = {}) => openEntry(dir, index, entry, opts.signal),
    volumesHolding: (paths) => {
      const wanted = new Set(paths);
      const vols = new Set<string>();
      for (const e of index.entries) if (wanted.has(e.path)) for (const v of volumesOf(e)) vols.add(v);
      return index.volumes.map((v) => v.name).filter((v) => vols.has(v));
    },
  };
}

export interface OpenBundleOptions {
  /**
   * Accept a bundle that has no SHA256SUMS at all (its index then vouched for by nothing
   * but its strict parse): pack --since reads a previous bundle's index only. A
   * SHA256SUMS that is there is still checked.
   */
  unsealed?: boolean;
}

/**
 * Opens the bundle in `dir`: bundle.json read (a regular file, size-capped), parsed
 * strictly and checked against its line in SHA256SUMS. The first problem is thrown
 * (E_BUNDLE_INCOMPLETE, E_BUNDLE_INVALID, E_BUNDLE_CORRUPT), the others in its details.
 * No volume is read until a reader asks for it.
 */
export async function openBundle(dir: string, opts: OpenBundleOptions = {}): Promise<OpenedBundle> {
  const problems: Problem[] = [];
  const files = await readBundleFiles(
    dir,
    (p) => {
      if (!(opts.unsealed && p.file === SUMS_FILE && p.code === 'E_BUNDLE_INCOMPLETE')) problems.push(p);
    },
    { wholeBundle: false },
  );
  const first = problems[0];
  if (first !== undefined || files.rawIndex === undefined || files.index === undefined) {
    const where = first?.file !== undefined ? join(dir, first.file) : dir;
    const what =
      first?.code === 'E_BUNDLE_CORRUPT'
        ? `${where} does not match its checksum in ${SUMS_FILE} (${first.message})`
        : `${where}: ${first?.message ?? 'bundle.json cannot be read'}`;
    throw new BaleError(first?.code ?? 'E_BUNDLE_INVALID', what, {
      hint: 'Point bale at the directory that holds bundle.json, SHA256SUMS and the volumes; if it is damaged or incomplete, copy it again, then run bale verify.',
      details: { ...(first?.file !== undefined ? { file: first.file } : {}), problems },
    });
  }
  return bundleOf(dir, {
    rawIndex: files.rawIndex,
    index: files.index,
    ...(files.sums ? { sums: files.sums } : {}),
  });
}

class StopReading extends Error {}

/**
 * Streams one entry's checked content out of its volume(s), re-reading the volume
 * from its start: used to retry an upload, and for entries split across volumes.
 * Memory stays flat: the bytes flow through with backpressure. An abort of `signal`
 * destroys the stream with the signal's reason and stops reading the volume.
 */
function openEntry(dir: string, index: BundleIndex, entry: BundleEntry, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const pieces = entry.parts
    ? entry.parts.map((p) => ({ volume: p.volume, path: p.path }))
    : [{ volume: entry.volume ?? '', path: entry.path }];
  const waitDrain = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        out.off('drain', done);
        reject(new StopReading());
      };
      out.once('drain', done);
      out.once('close', closed);
    });
  void (async () => {
    for (const piece of pieces) {
      let found = false;
      try {
        await readVolume(readFileChunks(join(dir, piece.volume), undefined, signal), {
          volume: piece.volume,
          expected: expectedEntries(index, piece.volume),
          onEntry: async (e, content) => {
            signal?.throwIfAborted();
            if (e.path !== piece.path || !content) return;
            found = true;
            for await (const chunk of content) {
              signal?.throwIfAborted();
              if (out.destroyed) throw new StopReading();
              if (!out.write(chunk)) await waitDrain();
            }
            throw new StopReading();
          },
        });
      } catch (err) {
        if (!(err instanceof StopReading)) {
          out.destroy(signal?.aborted ? (signal.reason as Error) : (err as Error));
          return;
        }
      }
      if (out.destroyed) return;
      if (!found) {
        out.destroy(new BaleError('E_BUNDLE_INCOMPLETE', `${piece.path} is not in ${piece.volume}`));
        return;
      }
    }
    out.end();
  })();
  return out;
}
