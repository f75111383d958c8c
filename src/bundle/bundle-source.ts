import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { BundleEntry, BundleIndex } from './index-schema.js';
import { readVolume } from './volume-reader.js';
import { expectedEntries } from './expected-entries.js';
import { readFileChunks } from './file-chunks.js';
import { BaleError } from '../errors.js';

/** Volumes that hold (a part of) an entry, in order. */
export function volumesOf(entry: BundleEntry): string[] {
  if (entry.parts) return entry.parts.map((p) => p.volume);
  return entry.volume ? [entry.volume] : [];
}

class StopReading extends Error {}

/**
 * Streams one entry's checked content out of its volume(s), re-reading the volume
 * from its start: used to retry an upload, and for entries split across volumes.
 * Memory stays flat: the bytes flow through with backpressure. An abort of `signal`
 * destroys the stream with the signal's reason and stops reading the volume.
 * Callers go through `openBundle(dir).openEntry(entry)`.
 */
export function openBundleEntry(
  dir: string,
  index: BundleIndex,
  entry: BundleEntry,
  opts: { signal?: AbortSignal } = {},
): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const pieces = entry.parts
    ? entry.parts.map((p) => ({ volume: p.volume, path: p.path }))
    : [{ volume: entry.volume ?? '', path: entry.path }];
  const { signal } = opts;
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
        await readVolume(readFileChunks(join(dir, piece.volume)), {
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
          out.destroy(err as Error);
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
