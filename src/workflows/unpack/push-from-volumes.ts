import pLimit from 'p-limit';
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import { volumesOf } from '../../bundle/open-bundle.js';
import { MAX_PARALLEL_VOLUMES } from '../../bundle/verify-steps/read-volumes.js';
import { BUFFERED_BLOB_MAX, type BlobPusher } from './blob-pusher.js';
import type { DestinationState } from './check-destination.js';

/**
 * `--verify-first`: the second pass. Blobs the mirror lacks are read again from the
 * volumes the audit just verified, several volumes at once; blobs split across volumes
 * stream from their parts in order afterwards.
 */
export async function pushFromVolumes(o: {
  bundle: OpenedBundle;
  pusher: BlobPusher;
  state: DestinationState;
  concurrency: number;
  signal?: AbortSignal;
}): Promise<void> {
  const { bundle, pusher, state } = o;
  const needed = new Set<string>();
  for (const m of state.missing.values())
    if (!m.entry.parts) for (const v of volumesOf(m.entry)) needed.add(v);
  const volumeLimit = pLimit(Math.max(1, Math.min(o.concurrency, MAX_PARALLEL_VOLUMES)));
  const readOne = async (volume: string): Promise<void> => {
    o.signal?.throwIfAborted();
    await bundle.readVolume(volume, {
      // Verified in full just before; every pushed byte is hashed again by the upload
      // (and by the registry).
      checkDigests: false,
      ...(o.signal ? { signal: o.signal } : {}),
      onEntry: async (e, content) => {
        pusher.check();
        const m = state.missing.get(e.path);
        if (!content || !m) return;
        if (m.entry.size <= BUFFERED_BLOB_MAX) await pusher.pushBuffered(m, content);
        else await pusher.pushOne(m, content);
      },
    });
  };
  try {
    await Promise.all(bundle.volumes.filter((v) => needed.has(v)).map((v) => volumeLimit(() => readOne(v))));
  } catch (err) {
    volumeLimit.clearQueue();
    await pusher.drain();
    throw err;
  }
  await pusher.settle();
  for (const m of state.missing.values()) {
    if (m.entry.parts) await pusher.pushOne(m, undefined);
  }
}
