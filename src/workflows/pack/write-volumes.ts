import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import type { PlannedEntry } from '../../bundle/plan.js';
import { writeVolume, type WrittenVolume } from '../../bundle/volume-writer.js';
import { BaleError } from '../../errors.js';
import type { PackContext } from './context.js';
import type { BundlePlan } from './plan-bundle.js';
import { asIoError } from './target.js';

/** Phase 7: downloads the blobs still needed (ahead, in parallel) and writes the volumes (in order). */
export async function writeVolumes(ctx: PackContext, bp: BundlePlan): Promise<WrittenVolume[]> {
  const { stager, signal, progress, to } = ctx;
  const { plan, finished, byPath } = bp;
  stager.start(bp.blobsNeeded);
  const contentTotal = plan.volumes
    .filter((v) => !finished.has(v.name))
    .reduce((n, v) => n + v.entries.reduce((m, e) => m + e.size, 0), 0);
  progress.phase('pack', { bytes: contentTotal });
  const windowCredit = new Map<string, number>();
  const open = async (entry: PlannedEntry): Promise<Readable> => {
    signal?.throwIfAborted();
    const item = byPath.get(entry.part?.of ?? entry.path);
    if (!item) throw new BaleError('E_IO', `internal: no source for ${entry.path}`);
    if (item.kind === 'bytes') {
      const data = entry.part
        ? item.data.subarray(entry.part.offset, entry.part.offset + entry.size)
        : item.data;
      return Readable.from([data]);
    }
    if (item.kind !== 'blob') throw new BaleError('E_IO', `internal: ${entry.path} has no content`);
    const path = await stager.get(item.digest);
    const start = entry.part?.offset ?? 0;
    const stream = createReadStream(path, { start, end: start + entry.size - 1, highWaterMark: 1 << 20 });
    if (signal) addAbortSignal(signal, stream);
    stream.on('close', () => {
      // A digest carried in two repositories is staged once: give its window credit back once.
      const left = windowCredit.get(item.digest) ?? item.size;
      const credit = Math.min(left, entry.size);
      windowCredit.set(item.digest, left - credit);
      stager.consumed(credit);
    });
    return stream;
  };
  const written: WrittenVolume[] = [];
  for (const [vi, vol] of plan.volumes.entries()) {
    signal?.throwIfAborted();
    const done = finished.get(vol.name);
    if (done) {
      written.push(done);
      continue;
    }
    let result: WrittenVolume;
    try {
      // The signal stops the writer's streams: an interrupt ends the work, not just the wait.
      result = await writeVolume(join(to, vol.name), vol.entries, open, {
        level: bp.level,
        // Staged blobs were digest-checked when downloaded (or re-hashed when reused), and
        // bytes items were hashed in memory: the writer checks sizes, not digests, again.
        trustKnownDigests: true,
        onBytes: (n) => progress.advance(n),
        signal,
      });
    } catch (err) {
      throw asIoError(err, join(to, vol.name));
    }
    await bp.journal.record({
      name: result.name,
      size: result.size,
      sha256: result.sha256,
      entries: result.entries.length,
      entryRecords: result.entries,
    });
    written.push(result);
    for (const [digest, last] of bp.lastUse) if (last === vi) await stager.remove(digest);
  }
  return written;
}
