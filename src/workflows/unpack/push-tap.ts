/**
 * The single pass: verify hands each blob the mirror lacks to the registry as it reads
 * it. A large blob streams into its upload (hashed on the way, and by the registry,
 * which completes the upload only when the digest matches); a small one is kept until
 * verify has checked it, then goes up in the background. An entry that fails its check
 * destroys its upload stream, so that upload never completes.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { EntryTap, TapSink } from '../../bundle/verify-bundle.js';
import { BUFFERED_BLOB_MAX, type BlobPusher } from './blob-pusher.js';
import type { DestinationState } from './check-destination.js';
import type { MissingBlob } from './repositories.js';

export function pushTap(pusher: BlobPusher, state: DestinationState): EntryTap {
  return {
    entry: async (_volume, e) => {
      pusher.check();
      const m = state.missing.get(e.path);
      if (m === undefined) return undefined;
      return m.entry.size <= BUFFERED_BLOB_MAX ? bufferedSink(pusher, m) : streamSink(pusher, m);
    },
  };
}

async function bufferedSink(pusher: BlobPusher, m: MissingBlob): Promise<TapSink> {
  await pusher.reserve(m.entry.size);
  const chunks: Buffer[] = [];
  let done = false;
  return {
    write: (c) => {
      chunks.push(c);
    },
    end: () => {
      done = true;
      pusher.pushBytes(m, Buffer.concat(chunks));
    },
    fail: () => {
      if (done) return;
      done = true;
      chunks.length = 0;
      pusher.release(m.entry.size);
    },
  };
}

function streamSink(pusher: BlobPusher, m: MissingBlob): TapSink {
  const pt = new PassThrough({ highWaterMark: 1 << 20 });
  let failed: Error | undefined;
  let settled = false;
  // A retry re-reads the entry from the bundle, unless verify already found it bad.
  const reopen = (): Readable => {
    if (failed === undefined) return pusher.reopen(m);
    const dead = new PassThrough();
    dead.destroy(failed);
    return dead;
  };
  pusher.start(
    m,
    async (earlier) => {
      try {
        await pusher.pushOne(m, pt, earlier, reopen);
      } finally {
        settled = true;
        // Whatever verify still writes is not needed: let it flow away.
        pt.resume();
      }
    },
    () => failed !== undefined,
  );
  return {
    write: async (c) => {
      pusher.check();
      if (pt.destroyed || settled || pt.write(c)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          pt.off('drain', done);
          pt.off('close', done);
          pt.off('resume', done);
          resolve();
        };
        pt.once('drain', done);
        pt.once('close', done);
        pt.once('resume', done);
      });
    },
    end: () => {
      if (!pt.destroyed) pt.end();
    },
    fail: (reason) => {
      failed = reason;
      pt.destroy(reason);
    },
  };
}
