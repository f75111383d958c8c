import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../../bundle/sha256sums.js';
import { digestHex } from '../../digest.js';
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
 * The small metadata blobs pack reads before it can plan (image configs, the release
 * payload layer, the graph-data signature layer), kept in `.bale/blobs` until the pack
 * ends: a resumed pack reads them from disk instead of downloading them again, and the
 * volume writer takes them from there. A download interrupted by a crash continues from
 * its `.partial` bytes; a complete staged blob from an earlier run is re-hashed and
 * reused. Every other blob goes from the network straight into its volume (BlobFeed).
 */
export class BlobStager {
  readonly stats: StagerStats = { reused: 0, downloaded: 0, bytesDownloaded: 0, bytesResumed: 0 };
  private readonly staged = new Map<string, Promise<string>>();

  constructor(
    private readonly opts: {
      client: RegistryClient;
      dir: string;
      signal?: AbortSignal;
    },
  ) {}

  pathOf(digest: string): string {
    return join(this.opts.dir, `sha256-${digestHex(digest)}`);
  }

  /** Stages one blob now (once per digest); resolves with its verified file's path. */
  prefetch(r: StageRequest): Promise<string> {
    let p = this.staged.get(r.digest);
    if (!p) {
      p = this.fetch(r);
      this.staged.set(r.digest, p);
      p.catch(() => this.staged.delete(r.digest));
    }
    return p;
  }

  /** The staged file of a prefetched blob, or undefined when it was not prefetched. */
  staging(digest: string): Promise<string> | undefined {
    return this.staged.get(digest);
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
      { onBytes: (n: number) => (last += n) },
    );
    this.stats.downloaded++;
    this.stats.bytesDownloaded += last;
    this.stats.bytesResumed += resumedFrom;
    return path;
  }
}
