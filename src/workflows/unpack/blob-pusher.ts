/**
 * Pushes the blobs the mirror lacks. Large blobs stream to the registry as they are
 * read (one at a time per volume); small ones are buffered and go up in the background
 * within a fixed budget of bytes, so memory stays bounded whatever the bundle. The same
 * blob for a second repository waits for the first upload, then mounts.
 */
import { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient } from '../../registry/client.js';
import type { DestinationState } from './check-destination.js';
import type { MissingBlob } from './repositories.js';

/** Blobs up to this size are read into memory and uploaded while the reader goes on. */
export const BUFFERED_BLOB_MAX = 4 * 1024 * 1024;
const BUFFERED_BUDGET = 24 * 1024 * 1024;

export interface BlobCounts {
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesUploaded: number;
}

export class BlobPusher {
  readonly counts: BlobCounts = { blobsUploaded: 0, blobsMounted: 0, blobsPresent: 0, bytesUploaded: 0 };
  /** digest → destination repositories we pushed it to */
  private readonly pushed = new Map<string, string[]>();
  /** digest → its upload under way */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly background = new Set<Promise<void>>();
  private readonly limit: LimitFunction;
  /** Set once the push is abandoned: queued uploads do nothing. */
  private stopped = false;
  private buffered = 0;
  private readonly released: (() => void)[] = [];
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly o: {
      client: RegistryClient;
      bundle: OpenedBundle;
      state: DestinationState;
      concurrency: number;
      progress: Progress;
      signal?: AbortSignal;
    },
  ) {
    this.limit = pLimit(Math.max(1, o.concurrency));
  }

  /** The blob's content read again from the bundle (an upload retry). */
  reopen(m: MissingBlob): Readable {
    return this.o.bundle.openEntry(m.entry, this.o.signal ? { signal: this.o.signal } : {});
  }

  /** Throws the first background failure (stops the readers). */
  check(): void {
    if (this.failure) throw this.failure.err;
    this.o.signal?.throwIfAborted();
  }

  /**
   * Pushes one blob. `first` is its content (a stream read once, or verified bytes);
   * a retry re-reads it from the bundle. Resolves once the registry has it.
   */
  async pushOne(
    m: MissingBlob,
    first: Readable | Buffer | undefined,
    // null: nothing to wait for (undefined would take the default).
    earlier: Promise<void> | null | undefined = this.inFlight.get(m.digest),
    reopen: () => Readable = () => this.reopen(m),
  ): Promise<void> {
    // The same blob for another repository: wait for it, then mount instead of uploading.
    if (earlier) await earlier.catch(() => undefined);
    const mountFrom = [
      ...(this.o.state.present.get(m.digest) ?? []),
      ...(this.pushed.get(m.digest) ?? []),
    ].filter((x) => x !== m.repo.dest.repository);
    let used = false;
    const open = (): Readable => {
      if (Buffer.isBuffer(first)) return Readable.from([first], { objectMode: false });
      if (first && !used) {
        used = true;
        return first;
      }
      return reopen();
    };
    const outcome = await this.o.client.pushBlob(
      m.repo.dest,
      { digest: m.digest, size: m.entry.size },
      open,
      {
        mountFrom,
      },
    );
    if (outcome === 'uploaded') {
      this.counts.blobsUploaded++;
      this.counts.bytesUploaded += m.entry.size;
    } else if (outcome === 'mounted') this.counts.blobsMounted++;
    else this.counts.blobsPresent++;
    this.pushed.set(m.digest, [...(this.pushed.get(m.digest) ?? []), m.repo.dest.repository]);
    this.o.progress.advance(m.entry.size);
  }

  /**
   * Starts pushing a blob in the background (its promise is tracked: `settle` waits
   * for it). `tolerate` says whether a failure is expected (the entry did not verify)
   * and so not a reason to stop.
   */
  start(
    m: MissingBlob,
    task: (earlier: Promise<void> | null) => Promise<void>,
    tolerate = () => false,
  ): Promise<void> {
    const earlier = this.inFlight.get(m.digest) ?? null;
    const p: Promise<void> = task(earlier)
      .catch((err: unknown) => {
        if (!tolerate()) this.failure ??= { err };
      })
      .finally(() => {
        this.background.delete(p);
        if (this.inFlight.get(m.digest) === p) this.inFlight.delete(m.digest);
      });
    this.background.add(p);
    this.inFlight.set(m.digest, p);
    return p;
  }

  /** Waits until `bytes` more fit in the buffer budget, then reserves them. */
  async reserve(bytes: number): Promise<void> {
    while (this.buffered > 0 && this.buffered + bytes > BUFFERED_BUDGET && this.failure === undefined) {
      await new Promise<void>((r) => this.released.push(r));
    }
    this.check();
    this.buffered += bytes;
  }

  release(bytes: number): void {
    this.buffered -= bytes;
    this.released.splice(0).forEach((r) => r());
  }

  /** A staged upload this run completed. */
  uploaded(m: MissingBlob): void {
    this.counts.blobsUploaded++;
    this.counts.bytesUploaded += m.entry.size;
    this.pushed.set(m.digest, [...(this.pushed.get(m.digest) ?? []), m.repo.dest.repository]);
    this.o.progress.advance(m.entry.size);
  }

  /** Pushes verified bytes in the background (the budget was reserved for them). */
  pushBytes(m: MissingBlob, bytes: Buffer): void {
    this.start(m, (earlier) =>
      this.limit(async () => {
        // After a failed verify queued uploads are dropped (they resolve without sending).
        if (this.stopped) return;
        this.check();
        return this.pushOne(m, bytes, earlier);
      }).finally(() => this.release(m.entry.size)),
    );
  }

  /** Reads a small blob's stream into memory, then pushes it in the background. */
  async pushBuffered(m: MissingBlob, content: Readable): Promise<void> {
    await this.reserve(m.entry.size);
    let bytes: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const c of content) chunks.push(c as Buffer);
      bytes = Buffer.concat(chunks);
    } catch (err) {
      this.release(m.entry.size);
      throw err;
    }
    this.pushBytes(m, bytes);
  }

  /** Waits for every background upload; throws the first failure. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
    if (this.failure) {
      this.stopped = true;
      throw this.failure.err;
    }
  }

  /**
   * Waits for every background upload, ignoring failures (the unpack fails anyway).
   * Uploads still queued resolve without sending (p-limit's clearQueue would leave their
   * promises pending for ever, and the wait below with them).
   */
  async drain(): Promise<void> {
    this.stopped = true;
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Uploads done so far (for the message of a failed unpack). */
  get sent(): number {
    return this.counts.blobsUploaded + this.counts.blobsMounted;
  }
}
