import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zstd from 'zstd-napi/binding.js';
import { abortable } from '../abortable.js';
import { HashingStream } from '../digest.js';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { entryPathProblem, linkProblem } from './entry-path.js';
import type { BundleEntry } from './index-schema.js';
import type { PlannedEntry } from './plan.js';
import { TAR_END, tarHeaderBytes, tarPadding } from './tar-entry.js';

export interface WriteVolumeOptions {
  /** zstd level, default 3. */
  level?: number;
  /** zstd worker threads; 0 or absent = single-threaded. Output is identical for any value ≥ 1. */
  nbWorkers?: number;
  /** Called with content bytes as they go into the volume. */
  onBytes?: (bytes: number) => void;
  /**
   * Entries with a known sha256 come from a source that already checked that digest
   * (pack's staged blobs): only their size is checked, and the known sha256 is recorded
   * without hashing the bytes again. Entries without one are hashed as usual.
   */
  trustKnownDigests?: boolean;
  /** Stops the volume: its streams are destroyed and the promise rejects. */
  signal?: AbortSignal;
  /**
   * Where zstd frames end: after entry `index` when this returns true (never after the
   * last entry; the end-of-archive shares the last frame). Must depend on the entries
   * alone, so that the same entries give the same volume. Default: one frame.
   */
  frameEnds?: (entry: PlannedEntry, index: number) => boolean;
  /** Called at each frame end, once the volume up to `offset` is in `<path>.tmp`. */
  onCheckpoint?: (checkpoint: VolumeCheckpoint) => Promise<void>;
  /** A checkpoint of an earlier, interrupted write of the same entries: continue from there. */
  resume?: VolumeCheckpoint;
}

/** A frame boundary in `<path>.tmp`: the first `entries` entries are complete before `offset`. */
export interface VolumeCheckpoint {
  entries: number;
  /** Bytes of the volume file up to the end of the frame. */
  offset: number;
  /** sha256 hex of those bytes (a resumed write checks them before it continues). */
  sha256: string;
  records: BundleEntry[];
}

/** Compressed output goes to the file in writes of up to this size. */
const OUT_CHUNK = 4 << 20;
const OUT_MIN_ROOM = zstd.cStreamOutSize();

/**
 * The end of the volume pipeline: zstd-compresses what it is given into one of two
 * reused 4 MiB buffers, and hashes and writes each buffer when full while compression
 * continues into the other. `endFrame()` closes the current zstd frame and waits until
 * every byte so far is in the file: the volume is then a valid multi-frame zstd file up
 * to `bytes`, which pack journals so that a resumed pack can continue from there. A frame
 * does not depend on how input or output are split, nor on the frames before it.
 */
class ZstdFileSink {
  bytes: number;
  private readonly cctx = new zstd.CCtx();
  private readonly bufs = [Buffer.allocUnsafe(OUT_CHUNK), Buffer.allocUnsafe(OUT_CHUNK)] as const;
  private cur = 0;
  private used = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fh: FileHandle,
    params: { compressionLevel: number; nbWorkers?: number },
    /** Hash of the file so far (from `start`); continued with every byte written. */
    readonly hash: Hash,
    start: number,
  ) {
    this.bytes = start;
    this.cctx.setParameter(zstd.CParameter.compressionLevel, params.compressionLevel);
    if (params.nbWorkers !== undefined) this.cctx.setParameter(zstd.CParameter.nbWorkers, params.nbWorkers);
  }

  /** Resolves once no write to the file is in flight. */
  async settled(): Promise<void> {
    await this.pending.catch(() => undefined);
  }

  /** Hands the filled buffer to the file (after the previous write) and switches buffers. */
  private async flushBuffer(): Promise<void> {
    const buf = this.bufs[this.cur] as Buffer;
    const n = this.used;
    await this.pending; // the other buffer is free again once its write is done
    if (n === 0) return;
    this.hash.update(buf.subarray(0, n));
    this.pending = writeAll(this.fh, buf, n, this.bytes);
    this.pending.catch(() => undefined);
    this.bytes += n;
    this.cur ^= 1;
    this.used = 0;
  }

  private async run(input: Buffer, op: zstd.EndDirective): Promise<void> {
    let src = input;
    for (;;) {
      if (OUT_CHUNK - this.used < OUT_MIN_ROOM) await this.flushBuffer();
      const out = (this.bufs[this.cur] as Buffer).subarray(this.used);
      const [left, produced, consumed] = this.cctx.compressStream2(out, src, op);
      this.used += produced;
      src = src.subarray(consumed);
      if (src.length === 0 && (op === zstd.EndDirective.continue || left === 0)) return;
    }
  }

  write(chunk: Buffer): Promise<void> {
    return this.run(chunk, zstd.EndDirective.continue);
  }

  /** Ends the zstd frame and waits until all of it is written to the file. */
  async endFrame(): Promise<void> {
    await this.run(Buffer.alloc(0), zstd.EndDirective.end);
    await this.flushBuffer();
    await this.pending;
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(buf, off, length - off, position + off);
    off += bytesWritten;
  }
}

export interface WrittenVolume {
  /** File name, `volume-NNN.tar.zst`. */
  name: string;
  size: number;
  /** sha256 hex of the volume file. */
  sha256: string;
  /** The entries as written, in order, with size and sha256 filled in. */
  entries: BundleEntry[];
}

export type OpenEntry = (entry: PlannedEntry) => Promise<Readable> | Readable;

/**
 * Writes one volume: each entry's content streams from `open(entry)` through a size
 * (and, when known, digest) check into the tar stream, into zstd, into `<path>.tmp`,
 * which is fsynced and renamed to `path` once complete. Same entries and content →
 * byte-identical volume. With `frameEnds`, a zstd frame ends after the chosen entries and
 * `onCheckpoint` hears of each; `resume` continues such a write after a crash.
 */
export async function writeVolume(
  path: string,
  entries: readonly PlannedEntry[],
  open: OpenEntry,
  opts: WriteVolumeOptions = {},
): Promise<WrittenVolume> {
  const name = basename(path);
  const tmp = `${path}.tmp`;
  const params: { compressionLevel: number; nbWorkers?: number } = { compressionLevel: opts.level ?? 3 };
  if (opts.nbWorkers !== undefined && opts.nbWorkers > 0) params.nbWorkers = opts.nbWorkers;
  let fh: FileHandle | undefined;
  let sink: ZstdFileSink | undefined;
  let checkpointed = false;
  try {
    const resumed = opts.resume && (await checkPrefix(tmp, opts.resume));
    const written: BundleEntry[] = resumed ? [...resumed.records] : [];
    fh = await openFile(tmp, resumed ? 'r+' : 'w');
    if (resumed) await fh.truncate(resumed.offset);
    checkpointed = resumed !== undefined;
    sink = new ZstdFileSink(fh, params, resumed?.hash ?? createHash('sha256'), resumed?.offset ?? 0);
    const seen = new Set(written.map((w) => w.path));
    for (let i = written.length; i < entries.length; i++) {
      opts.signal?.throwIfAborted();
      const entry = entries[i] as PlannedEntry;
      written.push(await writeEntry(name, sink, entry, open, seen, opts));
      seen.add(entry.path);
      if (i < entries.length - 1 && opts.frameEnds?.(entry, i)) {
        await sink.endFrame();
        const sha256 = sink.hash.copy().digest('hex');
        await opts.onCheckpoint?.({ entries: i + 1, offset: sink.bytes, sha256, records: [...written] });
        checkpointed = opts.onCheckpoint !== undefined;
      }
    }
    await sink.write(TAR_END);
    await sink.endFrame();
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
    await syncDir(dirname(path));
    return { name, size: sink.bytes, sha256: sink.hash.digest('hex'), entries: written };
  } catch (err) {
    await sink?.settled();
    await fh?.close().catch(() => undefined);
    // A journaled prefix stays for the next run to continue from; anything else goes.
    if (!checkpointed) await unlink(tmp).catch(() => undefined);
    if (isBaleError(err)) throw err;
    throw new BaleError('E_IO', `cannot write ${path}: ${messageOf(err)}`, {
      cause: err,
      hint: 'Check free space and permissions of the output directory.',
      details: { volume: name },
    });
  }
}

/**
 * The checkpoint's prefix of `<path>.tmp`, hashed again (node cannot keep a hash state
 * across processes): its hash to continue from, or undefined (write from the start) when
 * the file is shorter or other than journaled.
 */
async function checkPrefix(
  tmp: string,
  cp: VolumeCheckpoint,
): Promise<(VolumeCheckpoint & { hash: Hash }) | undefined> {
  if (cp.offset <= 0 || cp.entries <= 0 || cp.records.length !== cp.entries) return undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(tmp, { end: cp.offset - 1, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch {
    return undefined;
  }
  if (bytes !== cp.offset || hash.copy().digest('hex') !== cp.sha256) return undefined;
  return { ...cp, hash };
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await openFile(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every file system lets a directory be fsynced; the rename is still atomic.
  }
}

async function writeEntry(
  volume: string,
  sink: ZstdFileSink,
  entry: PlannedEntry,
  open: OpenEntry,
  seen: Set<string>,
  opts: WriteVolumeOptions,
): Promise<BundleEntry> {
  const onBytes = opts.onBytes;
  const where = `${volume}: ${entry.path}`;
  const bad = entryPathProblem(entry.part ? entry.part.of : entry.path);
  if (bad !== undefined) throw new BaleError('E_USAGE', `${where}: entry path ${bad}`);
  if (seen.has(entry.path)) throw new BaleError('E_USAGE', `${where}: entry written twice`);
  if (entry.type !== 'file') {
    const linkBad = linkProblem(entry.type, entry.path, entry.linkTarget);
    if (linkBad !== undefined) throw new BaleError('E_USAGE', `${where}: ${linkBad}`);
    if (entry.type === 'hardlink' && !seen.has(entry.linkTarget ?? '')) {
      throw new BaleError(
        'E_USAGE',
        `${where}: hard link target ${entry.linkTarget} is not earlier in the same volume`,
      );
    }
    await sink.write(tarHeaderBytes(entry));
    return { path: entry.path, type: entry.type, size: 0, volume, linkTarget: entry.linkTarget ?? '' };
  }
  const trusted = opts.trustKnownDigests === true && entry.sha256 !== undefined;
  const expect: { size: number; what: string; digest?: string } = { size: entry.size, what: where };
  if (entry.sha256 !== undefined) expect.digest = `sha256:${entry.sha256}`;
  // A trusted entry is only counted (the size checks below); any other is hashed and checked.
  const hasher = trusted ? undefined : new HashingStream(expect);
  const source = await abortable(Promise.resolve(open(entry)), opts.signal);
  await sink.write(tarHeaderBytes(entry));
  let bytes = 0;
  const consume = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > entry.size) {
        throw new BaleError('E_SIZE_MISMATCH', `${where}: more than the expected ${entry.size} bytes`, {
          details: { expectedSize: entry.size },
        });
      }
      onBytes?.(chunk.length);
      await sink.write(chunk);
    }
    if (bytes !== entry.size) {
      throw new BaleError('E_SIZE_MISMATCH', `${where}: got ${bytes} bytes, expected ${entry.size}`, {
        details: { expectedSize: entry.size, actualSize: bytes },
      });
    }
  };
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (hasher) await pipeline(source, hasher, consume, signal);
  else await pipeline(source, consume, signal);
  await sink.write(tarPadding(bytes));
  return {
    path: entry.path,
    type: 'file',
    size: bytes,
    sha256: hasher ? (hasher.finalDigest?.slice(7) ?? '') : (entry.sha256 ?? ''),
    volume,
  };
}
