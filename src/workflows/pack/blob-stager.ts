import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { hashFile } from '../../bundle/sha256sums.js';
import { digestHex } from '../../digest.js';
import { BaleError } from '../../errors.js';
import type { RegistryClient, Repo } from '../../registry/client.js';

export interface StageRequest {
  digest: string;
  size: number;
  src: Repo;
}

export interface StagerStats {
  /** Blobs already staged by an earlier (interrupted) run and reused. */
  reused: number;
  downloaded: number;
  bytesDownloaded: number;
  /** Bytes of partial downloads continued with Range instead of fetched again. */
  bytesResumed: number;
}

/**
 * Downloads blobs into a staging directory ahead of the volume writer: in the order
 * the writer needs them, several at once, but never more than `windowBytes` staged and
 * not yet consumed (one blob larger than the window is still allowed alone). A blob
 * interrupted by a crash continues from its `.partial` bytes; a complete staged blob
 * from an earlier run is re-hashed and reused.
 */
export class BlobStager {
  readonly stats: StagerStats = { reused: 0, downloaded: 0, bytesDownloaded: 0, bytesResumed: 0 };
  private readonly ready = new Map<string, Promise<string>>();
  /** Blobs fetched ahead for metadata (release payload, configs): verified, kept to the end. */
  private readonly prefetched = new Map<string, Promise<string>>();
  private readonly limit;
  private outstanding = 0;
  /** Admission tickets: blobs enter the window strictly in the order they were scheduled. */
  private scheduled = 0;
  private nextAdmit = 0;
  private waiters: (() => void)[] = [];
  private failed: unknown;

  constructor(
    private readonly opts: {
      client: RegistryClient;
      dir: string;
      concurrency: number;
      windowBytes: number;
      signal?: AbortSignal;
      onDownloaded?: (bytes: number) => void;
    },
  ) {
    this.limit = pLimit(Math.max(1, opts.concurrency));
    // Blobs waiting for the window see an interrupt at once (they re-check the signal when woken).
    opts.signal?.addEventListener('abort', () => this.wake(), { once: true });
  }

  pathOf(digest: string): string {
    return join(this.opts.dir, `sha256-${digestHex(digest)}`);
  }

  /** Starts staging `requests` (deduplicated by digest) in order. */
  start(requests: StageRequest[]): void {
    for (const r of requests) {
      if (this.ready.has(r.digest)) continue;
      const ticket = this.scheduled++;
      const p = this.limit(() => this.stage(r, ticket));
      p.catch((err: unknown) => {
        this.failed ??= err;
        this.wake();
      });
      this.ready.set(r.digest, p);
    }
  }

  /**
   * Stages one blob now, outside the window (small metadata blobs pack reads before it can
   * plan: image configs, the release payload layer, the graph-data signature layer). The
   * file stays staged until the pack ends, so a resumed pack reads it from disk instead of
   * downloading it again, and the volume writer reuses it without a second download.
   */
  prefetch(r: StageRequest): Promise<string> {
    let p = this.prefetched.get(r.digest);
    if (!p) {
      p = this.fetch(r);
      this.prefetched.set(r.digest, p);
      p.catch(() => this.prefetched.delete(r.digest));
    }
    return p;
  }

  /** Resolves with the staged file's path once the blob is complete and verified. */
  async get(digest: string): Promise<string> {
    const p = this.ready.get(digest);
    if (!p) throw new BaleError('E_IO', `internal: blob ${digest} was never scheduled`);
    return p;
  }

  /** The writer has consumed this blob: its bytes no longer count against the window. */
  consumed(size: number): void {
    this.outstanding -= size;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  async remove(digest: string): Promise<void> {
    if (this.prefetched.has(digest)) return;
    await rm(this.pathOf(digest), { force: true });
    await rm(`${this.pathOf(digest)}.partial`, { force: true });
  }

  /**
   * Waits for this blob's turn and for room in the window. Admission is strictly in
   * schedule order (the writer's order): a blob behind a large one can never take the
   * room the large one waits for, and everything admitted before a waiting blob is
   * consumed by the writer before it needs that blob, so the window always drains.
   */
  private async admit(ticket: number, size: number): Promise<void> {
    while (
      ticket !== this.nextAdmit ||
      (this.outstanding > 0 && this.outstanding + size > this.opts.windowBytes)
    ) {
      this.opts.signal?.throwIfAborted();
      if (this.failed) throw this.failed;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.nextAdmit++;
    this.outstanding += size;
    this.wake();
  }

  private async stage(r: StageRequest, ticket: number): Promise<string> {
    this.opts.signal?.throwIfAborted();
    if (this.failed) throw this.failed;
    await this.admit(ticket, r.size);
    const pre = this.prefetched.get(r.digest);
    if (pre) return pre;
    return this.fetch(r);
  }

  /** Reuses a complete staged file (re-hashed) or downloads, continuing a `.partial` file. */
  private async fetch(r: StageRequest): Promise<string> {
    const path = this.pathOf(r.digest);
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isFile()) {
      if (existing.size === r.size && `sha256:${(await hashFile(path)).sha256}` === r.digest) {
        this.stats.reused++;
        return path;
      }
      await rm(path, { force: true });
    }
    this.opts.signal?.throwIfAborted();
    let last = 0;
    const { resumedFrom } = await this.opts.client.downloadBlob(
      r.src,
      { digest: r.digest, size: r.size },
      path,
      {
        onBytes: (n: number) => {
          last += n;
          this.opts.onDownloaded?.(n);
        },
      },
    );
    this.stats.downloaded++;
    this.stats.bytesDownloaded += last;
    this.stats.bytesResumed += resumedFrom;
    return path;
  }
}
