import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';
import type { PlannedEntry } from '../../bundle/plan.js';
import { writeVolume, type WrittenVolume } from '../../bundle/volume-writer.js';
import { BaleError } from '../../errors.js';
import type { PackContext } from './context.js';
import type { BundlePlan } from './plan-bundle.js';
import { asIoError } from '../../io-error.js';

/**
 * Phase 7: writes the volumes in order, each blob streaming from its registry into the
 * volume (downloads run ahead in parallel, within the feed's memory window). A zstd frame
 * ends after every blob entry and the journal records that boundary, so a killed pack
 * loses at most the blob in flight: the next run truncates the volume to its last
 * boundary, checks that prefix and continues with the next entry.
 */
export async function writeVolumes(ctx: PackContext, bp: BundlePlan): Promise<WrittenVolume[]> {
  const { feed, signal, progress, to } = ctx;
  const { plan, finished, byPath, journal } = bp;
  feed.start(bp.blobsNeeded);
  const contentTotal = plan.volumes
    .filter((v) => !finished.has(v.name))
    .reduce(
      (n, v) => n + v.entries.slice(journal.checkpoint(v.name)?.entries ?? 0).reduce((m, e) => m + e.size, 0),
      0,
    );
  progress.phase('pack', { bytes: contentTotal });
  const written: WrittenVolume[] = [];
  for (const vol of plan.volumes) {
    signal?.throwIfAborted();
    const done = finished.get(vol.name);
    if (done) {
      written.push(done);
      continue;
    }
    let result: WrittenVolume;
    try {
      // The signal stops the writer's streams: an interrupt ends the work, not just the wait.
      result = await writeVolume(join(to, vol.name), vol.entries, (e) => openEntry(ctx, bp, e), {
        level: bp.level,
        // Compression on a zstd worker thread: the main thread keeps the network and hashing.
        // The output is the same for any number of workers ≥ 1 (not the same as with none).
        nbWorkers: 1,
        // Blobs are digest-checked by the registry client as they stream (a mismatch fails
        // the entry before its frame is journaled), staged ones were checked when staged, and
        // bytes items were hashed in memory: the writer checks sizes, not digests, again.
        trustKnownDigests: true,
        onBytes: (n) => progress.advance(n),
        signal,
        frameEnds: (entry) => byPath.get(entry.part?.of ?? entry.path)?.kind === 'blob',
        onCheckpoint: (cp) => journal.recordCheckpoint(vol.name, cp),
        resume: journal.checkpoint(vol.name),
      });
    } catch (err) {
      throw asIoError(err, join(to, vol.name));
    }
    await journal.record({
      name: result.name,
      size: result.size,
      sha256: result.sha256,
      entries: result.entries.length,
      entryRecords: result.entries,
    });
    written.push(result);
  }
  return written;
}

/** The content of one entry: bytes in memory, a staged metadata blob, or a blob from the feed. */
async function openEntry(ctx: PackContext, bp: BundlePlan, entry: PlannedEntry): Promise<Readable> {
  ctx.signal?.throwIfAborted();
  const item = bp.byPath.get(entry.part?.of ?? entry.path);
  if (!item) throw new BaleError('E_IO', `internal: no source for ${entry.path}`);
  const start = entry.part?.offset ?? 0;
  if (item.kind === 'bytes') return Readable.from([item.data.subarray(start, start + entry.size)]);
  if (item.kind !== 'blob') throw new BaleError('E_IO', `internal: ${entry.path} has no content`);
  const staged = ctx.stager.staging(item.digest);
  if (!staged) return ctx.feed.open(item.digest, start, entry.size);
  const stream = createReadStream(await staged, {
    start,
    end: start + entry.size - 1,
    highWaterMark: 1 << 20,
  });
  return ctx.signal ? addAbortSignal(ctx.signal, stream) : stream;
}
