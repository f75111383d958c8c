import { createHash } from 'node:crypto';
import { open as openFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import zstd from 'zstd-napi/binding.js';
import { abortable } from '../abortable.js';
import { HashingStream } from '../digest.js';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { entryPathProblem, linkProblem } from './entry-path.js';
import type { BundleEntry } from './index-schema.js';
import type { PlannedEntry } from './plan.js';

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
  /** Stops the volume: its streams are destroyed, `<path>.tmp` removed, and the promise rejects. */
  signal?: AbortSignal;
}

/** Compressed output goes to the file in writes of up to this size. */
const OUT_CHUNK = 4 << 20;
const OUT_MIN_ROOM = zstd.cStreamOutSize();

/**
 * The end of the volume pipeline: zstd-compresses what it is given into one of two
 * reused 4 MiB buffers, and hashes and writes each buffer when full while compression
 * continues into the other. One write (and hash update) per 4 MiB instead of one per
 * ~128 KiB block, and no fresh buffer per output chunk (zstd-napi's CompressStream
 * allocates one each time). The zstd frame does not depend on how input or output are
 * split, so the bytes equal CompressStream's with the same parameters.
 */
class ZstdFileSink extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly cctx = new zstd.CCtx();
  private readonly bufs = [Buffer.allocUnsafe(OUT_CHUNK), Buffer.allocUnsafe(OUT_CHUNK)] as const;
  private cur = 0;
  private used = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fh: FileHandle,
    params: { compressionLevel: number; nbWorkers?: number },
  ) {
    super({ highWaterMark: 1 << 20 });
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
    this.bytes += n;
    this.pending = writeAll(this.fh, buf, n);
    this.pending.catch(() => undefined);
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

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.run(chunk, zstd.EndDirective.continue).then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.run(Buffer.alloc(0), zstd.EndDirective.end)
      .then(() => this.flushBuffer())
      .then(() => this.pending)
      .then(
        () => callback(),
        (err: unknown) => callback(err as Error),
      );
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(buf, off, length - off);
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

/** The fixed tar header fields that make a volume reproducible. */
export function tarHeader(entry: PlannedEntry): Partial<tar.Header> & { name: string } {
  const common = { name: entry.path, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
  if (entry.type === 'symlink')
    return { ...common, type: 'symlink', mode: 0o777, size: 0, linkname: entry.linkTarget ?? '' };
  if (entry.type === 'hardlink')
    return { ...common, type: 'link', mode: 0o644, size: 0, linkname: entry.linkTarget ?? '' };
  return { ...common, type: 'file', mode: 0o644, size: entry.size };
}

/**
 * Writes one volume: each entry's content streams from `open(entry)` through a size
 * (and, when known, digest) check into the tar packer, into zstd, into `<path>.tmp`,
 * which is fsynced and renamed to `path` once complete. Same entries and content →
 * byte-identical volume.
 */
export async function writeVolume(
  path: string,
  entries: readonly PlannedEntry[],
  open: OpenEntry,
  opts: WriteVolumeOptions = {},
): Promise<WrittenVolume> {
  const name = basename(path);
  const tmp = `${path}.tmp`;
  const pack = tar.pack();
  const params: { compressionLevel: number; nbWorkers?: number } = { compressionLevel: opts.level ?? 3 };
  if (opts.nbWorkers !== undefined && opts.nbWorkers > 0) params.nbWorkers = opts.nbWorkers;
  const written: BundleEntry[] = [];
  let fh: FileHandle | undefined;
  let sink: ZstdFileSink | undefined;
  let producer: Promise<void> = Promise.resolve();
  try {
    fh = await openFile(tmp, 'w');
    sink = new ZstdFileSink(fh, params);
    const sinkDone = pipeline(Readable.from(pack, { objectMode: false }), sink, { signal: opts.signal });
    producer = (async () => {
      const seen = new Set<string>();
      for (const entry of entries) {
        opts.signal?.throwIfAborted();
        written.push(await writeEntry(name, pack, entry, open, seen, opts));
        seen.add(entry.path);
      }
      pack.finalize();
    })();
    await Promise.all([
      producer.catch((err: unknown) => {
        pack.destroy(err instanceof Error ? err : new Error(messageOf(err)));
        throw err;
      }),
      sinkDone,
    ]);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (err) {
    await producer.catch(() => undefined);
    await sink?.settled();
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (isBaleError(err)) throw err;
    throw new BaleError('E_IO', `cannot write ${path}: ${messageOf(err)}`, {
      cause: err,
      hint: 'Check free space and permissions of the output directory.',
      details: { volume: name },
    });
  }
  return { name, size: sink.bytes, sha256: sink.hash.digest('hex'), entries: written };
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
  pack: tar.Pack,
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
  const header = tarHeader(entry);
  if (entry.type !== 'file') {
    const linkBad = linkProblem(entry.type, entry.path, entry.linkTarget);
    if (linkBad !== undefined) throw new BaleError('E_USAGE', `${where}: ${linkBad}`);
    if (entry.type === 'hardlink' && !seen.has(entry.linkTarget ?? '')) {
      throw new BaleError(
        'E_USAGE',
        `${where}: hard link target ${entry.linkTarget} is not earlier in the same volume`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      sink.end(undefined);
    });
    return { path: entry.path, type: entry.type, size: 0, volume, linkTarget: entry.linkTarget ?? '' };
  }
  const trusted = opts.trustKnownDigests === true && entry.sha256 !== undefined;
  const expect: { size: number; what: string; digest?: string } = { size: entry.size, what: where };
  if (entry.sha256 !== undefined) expect.digest = `sha256:${entry.sha256}`;
  // A trusted entry is only counted (the size checks below); any other is hashed and checked.
  const hasher = trusted ? undefined : new HashingStream(expect);
  let entryDone: Promise<void> = Promise.resolve();
  const sink = pack.entry(header);
  entryDone = new Promise<void>((resolve, reject) => {
    sink.once('finish', () => resolve());
    sink.once('close', () => reject(new BaleError('E_IO', `${where}: tar entry closed early`)));
    sink.once('error', (err: Error) => reject(err));
  });
  entryDone.catch(() => undefined);
  const source = await abortable(Promise.resolve(open(entry)), opts.signal);
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
      if (!sink.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const onClose = (): void => reject(new BaleError('E_IO', `${where}: tar stream closed`));
          sink.once('drain', () => {
            sink.off('close', onClose);
            resolve();
          });
          sink.once('close', onClose);
        });
      }
    }
    if (bytes !== entry.size) {
      throw new BaleError('E_SIZE_MISMATCH', `${where}: got ${bytes} bytes, expected ${entry.size}`, {
        details: { expectedSize: entry.size, actualSize: bytes },
      });
    }
    sink.end(undefined);
  };
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (hasher) await pipeline(source, hasher, consume, signal);
  else await pipeline(source, consume, signal);
  await entryDone;
  const out: BundleEntry = {
    path: entry.path,
    type: 'file',
    size: bytes,
    sha256: hasher ? (hasher.finalDigest?.slice(7) ?? '') : (entry.sha256 ?? ''),
    volume,
  };
  return out;
}
