import { Readable, addAbortSignal } from 'node:stream';
import pLimit from 'p-limit';
import { BaleError } from '../../errors.js';
import type { RegistryClient, Repo } from '../../registry/client.js';
import type { SourceCandidate } from '../../registry/mirror-sources.js';
import { openBlobFromSources } from '../../registry/mirrored-source.js';

export interface FeedRequest {
  digest: string;
  size: number;
  src: Repo;
  /**
   * Every source of the image (src first) when mirrors are configured: a blob the first
   * lacks is read from the next that has it; the error names every source tried.
   */
  sources?: SourceCandidate[];
}

export interface FeedStats {
  downloaded: number;
  bytesDownloaded: number;
}

/** What one download may hold unread whatever the window (a few network chunks). */
const PER_BLOB_MIN = 256 * 1024;

/** One blob on its way from the registry to the volume writer. */
class Download {
  readonly chunks: Buffer[] = [];
  /** Bytes handed to the writer (or skipped) so far. */
  pos = 0;
  /** Bytes read from the registry and not yet handed on. */
  buffered = 0;
  started = false;
  ended = false;
  error: unknown;
  private waiter: (() => void) | undefined;
  readonly done: Promise<void>;
  resolveDone!: () => void;
  rejectDone!: (err: unknown) => void;

  constructor(readonly req: FeedRequest) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  notify(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Waits until a chunk is buffered, the download ended, or it failed. */
  async ready(signal: AbortSignal | undefined): Promise<void> {
    while (this.chunks.length === 0 && !this.ended && this.error === undefined) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.error !== undefined) throw this.error;
  }
}

/**
 * Streams blobs from their registries straight into the volume writer, with no copy on
 * disk. Downloads start in the writer's order, `concurrency` at once; those ahead of the
 * writer hold what they have read in memory, and pause (TCP holds the rest) once all of
 * them together hold `windowBytes`. The blob the writer reads only pauses while it holds
 * a quarter of the window itself (the writer is draining it), and a blob the writer asks
 * for before its turn starts at once, so the window always drains. Each blob
 * is read from its start and verified (size and sha256) by the registry client as it
 * streams: the writer's last read of a blob resolves only once its digest checked.
 */
export class BlobFeed {
  readonly stats: FeedStats = { downloaded: 0, bytesDownloaded: 0 };
  private readonly downloads = new Map<string, Download>();
  private readonly limit;
  private buffered = 0;
  /** The blob the writer reads now: it never waits for room. */
  private head: Download | undefined;
  private roomWaiters: (() => void)[] = [];
  private readonly streams = new Set<Readable>();
  private stopped = false;

  constructor(
    private readonly opts: {
      client: RegistryClient;
      concurrency: number;
      windowBytes: number;
      signal?: AbortSignal;
    },
  ) {
    this.limit = pLimit(Math.max(1, opts.concurrency));
    opts.signal?.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  /**
   * Ends every download still running or paused (the pack failed or finished): a paused
   * download would otherwise hold its connection open and keep the client from closing.
   */
  stop(): void {
    this.stopped = true;
    for (const stream of this.streams) stream.destroy();
    this.downloads.clear();
    this.wakeAll();
  }

  /** Schedules `requests` (each digest once) in the writer's order. */
  start(requests: readonly FeedRequest[]): void {
    for (const r of requests) {
      if (this.downloads.has(r.digest)) continue;
      const d = new Download(r);
      this.downloads.set(r.digest, d);
      void this.limit(() => this.run(d));
    }
  }

  /**
   * `size` bytes of a scheduled blob from `offset`. The parts of one blob are asked for in
   * order; bytes before `offset` not yet read (parts written by an earlier run) are read
   * and dropped, so the digest is still checked over the whole blob.
   */
  open(digest: string, offset: number, size: number): Readable {
    const d = this.downloads.get(digest);
    if (!d) throw new BaleError('E_IO', `internal: blob ${digest} was never scheduled`);
    const stream = Readable.from(this.take(d, offset, size), { objectMode: false });
    return this.opts.signal ? addAbortSignal(this.opts.signal, stream) : stream;
  }

  private async *take(d: Download, offset: number, size: number): AsyncGenerator<Buffer> {
    this.head = d;
    this.wakeAll();
    if (!d.started) void this.run(d); // asked for before its turn: start now
    let skip = offset - d.pos;
    let left = size;
    while (skip > 0 || left > 0) {
      await d.ready(this.opts.signal);
      const chunk = d.chunks.shift();
      if (!chunk) {
        throw new BaleError('E_SIZE_MISMATCH', `blob ${d.req.digest} ended after ${d.pos} bytes`, {
          details: { expectedSize: d.req.size, actualSize: d.pos },
        });
      }
      const n = Math.min(chunk.length, skip > 0 ? skip : left);
      if (n < chunk.length) d.chunks.unshift(chunk.subarray(n));
      d.buffered -= n;
      this.release(n);
      d.pos += n;
      if (skip > 0) skip -= n;
      else {
        left -= n;
        yield chunk.subarray(0, n);
      }
    }
    if (d.pos === d.req.size) {
      await d.done; // the digest is checked at the end of the registry's stream
      this.downloads.delete(d.req.digest);
    }
  }

  private release(n: number): void {
    this.buffered -= n;
    this.wakeAll();
  }

  private wakeAll(): void {
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const fn of w) fn();
    for (const d of this.downloads.values()) d.notify();
  }

  /**
   * A download ahead of the writer waits while the window is full; any download, the one
   * the writer reads included, waits while it alone holds a quarter of the window (the
   * writer drains it), so a fast registry cannot pile a large blob up in memory.
   */
  private mustWait(d: Download): boolean {
    if (!this.downloads.has(d.req.digest)) return false;
    const window = this.opts.windowBytes;
    return d.buffered > Math.max(PER_BLOB_MIN, window / 4) || (this.buffered > window && this.head !== d);
  }

  private async run(d: Download): Promise<void> {
    if (d.started) return;
    d.started = true;
    const { client, signal } = this.opts;
    try {
      signal?.throwIfAborted();
      if (this.stopped) throw new BaleError('E_INTERRUPTED', `download of ${d.req.digest} stopped`);
      const desc = { digest: d.req.digest, size: d.req.size };
      const sources = d.req.sources;
      const stream =
        sources && sources.length > 1
          ? (
              await openBlobFromSources(sources, desc, {
                client,
                configured: true,
                ...(signal ? { signal } : {}),
              })
            ).stream
          : client.openBlob(d.req.src, desc);
      if (signal) addAbortSignal(signal, stream);
      this.streams.add(stream);
      stream.once('close', () => this.streams.delete(stream));
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        d.chunks.push(chunk);
        d.buffered += chunk.length;
        this.buffered += chunk.length;
        this.stats.bytesDownloaded += chunk.length;
        d.notify();
        while (this.mustWait(d)) {
          signal?.throwIfAborted();
          await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        }
      }
      d.ended = true;
      this.stats.downloaded++;
      d.resolveDone();
    } catch (err) {
      d.error = err;
      d.rejectDone(err);
    }
    d.notify();
  }
}
