/**
 * The single pass: verify hands each blob the mirror lacks to the registry as it reads
 * it. A small blob is kept until verify has checked it, then goes up in the background
 * (one PUT). A large one streams into a chunked upload as it is read (verify's buffers go
 * into the PATCH bodies as they are, never copied; after two 8 MiB chunks they double up to 64 MiB);
 * the upload is completed (PUT with the digest, which the registry checks too) only
 * once every byte arrived and verify found the entry intact, otherwise its stream is
 * destroyed and the session cancelled. Each large upload's session is recorded
 * (upload-state.ts) after every acknowledged chunk, so that a killed run continues it
 * from where the registry is. Manifests and tags wait for the whole bundle (registry-push.ts).
 */
import { PassThrough, type Readable } from 'node:stream';
import type { EntryTap, TapSink } from '../../bundle/verify-bundle.js';
import type { RegistryClient } from '../../registry/client.js';
import { BUFFERED_BLOB_MAX, type BlobPusher } from './blob-pusher.js';
import type { DestinationState } from './check-destination.js';
import type { MissingBlob } from './repositories.js';
import type { UploadState } from './upload-state.js';

interface Staging {
  m: MissingBlob;
  /** The session's newest Location (once opened). */
  location?: string;
  completed?: boolean;
  /** The entry did not verify: its upload is expected to fail. */
  failed?: boolean;
}

export class StagedPush {
  private readonly stagings: Staging[] = [];
  /** Entry paths whose blob a tap took (sent, or being sent). */
  private readonly sent = new Set<string>();
  /** Digests being staged: another repository's copy is mounted after the commit. */
  private readonly claimed = new Set<string>();
  /** Bytes earlier runs had sent of the sessions this run continued. */
  resumedBytes = 0;
  sessionsResumed = 0;

  constructor(
    private readonly o: {
      client: RegistryClient;
      pusher: BlobPusher;
      state: DestinationState;
      uploads: UploadState;
    },
  ) {}

  tap(): EntryTap {
    return {
      entry: async (_volume, e) => {
        this.o.pusher.check();
        const m = this.o.state.missing.get(e.path);
        if (m === undefined || this.claimed.has(m.digest)) return undefined;
        this.claimed.add(m.digest);
        this.sent.add(m.entry.path);
        return m.entry.size <= BUFFERED_BLOB_MAX ? this.bufferedSink(m) : this.streamSink(m);
      },
    };
  }

  /** After a verify that passed: waits for the uploads, then mounts or pushes what no tap sent. */
  async commit(): Promise<void> {
    const { pusher } = this.o;
    await pusher.settle();
    const sent = new Set([...this.sent]);
    // Another repository's copy of a blob sent (mounted), or one no tap reached.
    for (const m of this.o.state.missing.values()) {
      if (!sent.has(m.entry.path)) await pusher.pushOne(m, undefined, null);
    }
  }

  /**
   * After a verify that failed: waits for the uploads under way, cancels the sessions
   * not completed; returns how many blobs were completed (now unreferenced).
   */
  async cancel(): Promise<number> {
    await this.o.pusher.drain();
    for (const s of this.stagings) {
      if (s.location === undefined || s.completed) continue;
      const desc = { digest: s.m.digest, size: s.m.entry.size };
      await this.o.client.sessions.cancel(s.m.repo.dest, desc, s.location).catch(() => undefined);
      await this.o.uploads.forget(s.m.repo.dest, s.m.digest).catch(() => undefined);
    }
    return this.o.pusher.sent;
  }

  /** Stages one blob in the background; `open` gives its bytes (called again on a retry). */
  private stage(m: MissingBlob, open: () => Readable, s: Staging, after?: () => void): void {
    const { client, pusher, uploads } = this.o;
    this.stagings.push(s);
    pusher.start(
      m,
      async () => {
        try {
          const resume = await uploads.get(m.repo.dest, m.digest);
          const staged = await client.sessions.stage(
            m.repo.dest,
            { digest: m.digest, size: m.entry.size },
            open,
            {
              ...(resume !== undefined ? { resume } : {}),
              onResume: (from) => {
                if (from > 0) {
                  this.sessionsResumed++;
                  this.resumedBytes += from;
                }
              },
              onProgress: async (p) => {
                s.location = p.location;
                await uploads.record(m.repo.dest, m.digest, p);
              },
            },
          );
          // Every byte arrived and verify checked the entry (its stream ended cleanly).
          await client.sessions.complete(m.repo.dest, { digest: m.digest, size: m.entry.size }, staged);
          s.completed = true;
          await uploads.forget(m.repo.dest, m.digest);
          pusher.uploaded(m);
        } finally {
          after?.();
        }
      },
      () => s.failed === true,
    );
  }

  private async bufferedSink(m: MissingBlob): Promise<TapSink> {
    const { pusher } = this.o;
    await pusher.reserve(m.entry.size);
    const chunks: Buffer[] = [];
    let done = false;
    return {
      write: (c) => {
        chunks.push(c);
      },
      end: () => {
        done = true;
        const bytes = Buffer.concat(chunks);
        chunks.length = 0;
        pusher.pushBytes(m, bytes);
      },
      fail: () => {
        if (done) return;
        done = true;
        chunks.length = 0;
        pusher.release(m.entry.size);
      },
    };
  }

  private streamSink(m: MissingBlob): TapSink {
    const { pusher } = this.o;
    // Object mode: verify's buffers reach the upload as they are (a byte-mode stream would
    // concatenate what it holds into a copy for each read); 8 buffers of up to 128 KiB.
    const pt = new PassThrough({ objectMode: true, highWaterMark: 8 });
    const s: Staging = { m };
    let reason: Error | undefined;
    let settled = false;
    let used = false;
    // The first attempt reads the stream verify feeds; a retry re-reads the entry from
    // the bundle, unless verify found it bad.
    const open = (): Readable => {
      if (!used) {
        used = true;
        return pt;
      }
      if (reason === undefined) return pusher.reopen(m);
      const dead = new PassThrough();
      dead.destroy(reason);
      return dead;
    };
    this.stage(m, open, s, () => {
      settled = true;
      // Whatever verify still writes is not needed: let it flow away.
      pt.resume();
    });
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
      fail: (err) => {
        reason = err;
        s.failed = true;
        pt.destroy(err);
      },
    };
  }
}
