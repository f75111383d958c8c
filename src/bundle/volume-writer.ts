import { createWriteStream } from 'node:fs';
import { open as openFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CompressStream } from 'zstd-napi';
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
  const volumeHash = new HashingStream();
  const params: { compressionLevel: number; nbWorkers?: number } = { compressionLevel: opts.level ?? 3 };
  if (opts.nbWorkers !== undefined && opts.nbWorkers > 0) params.nbWorkers = opts.nbWorkers;
  const sinkDone = pipeline(
    Readable.from(pack, { objectMode: false }),
    new CompressStream(params),
    volumeHash,
    createWriteStream(tmp),
  );
  const written: BundleEntry[] = [];
  const producer = (async () => {
    const seen = new Set<string>();
    for (const entry of entries) {
      written.push(await writeEntry(name, pack, entry, open, seen, opts.onBytes));
      seen.add(entry.path);
    }
    pack.finalize();
  })();
  try {
    await Promise.all([
      producer.catch((err: unknown) => {
        pack.destroy(err instanceof Error ? err : new Error(messageOf(err)));
        throw err;
      }),
      sinkDone,
    ]);
    const fh = await openFile(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDir(dirname(path));
  } catch (err) {
    await producer.catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (isBaleError(err)) throw err;
    throw new BaleError('E_IO', `cannot write ${path}: ${messageOf(err)}`, {
      cause: err,
      hint: 'Check free space and permissions of the output directory.',
      details: { volume: name },
    });
  }
  return { name, size: volumeHash.bytes, sha256: volumeHash.finalDigest?.slice(7) ?? '', entries: written };
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
  onBytes: ((bytes: number) => void) | undefined,
): Promise<BundleEntry> {
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
  const expect: { size: number; what: string; digest?: string } = { size: entry.size, what: where };
  if (entry.sha256 !== undefined) expect.digest = `sha256:${entry.sha256}`;
  const hasher = new HashingStream(expect);
  let entryDone: Promise<void> = Promise.resolve();
  const sink = pack.entry(header);
  entryDone = new Promise<void>((resolve, reject) => {
    sink.once('finish', () => resolve());
    sink.once('close', () => reject(new BaleError('E_IO', `${where}: tar entry closed early`)));
    sink.once('error', (err: Error) => reject(err));
  });
  entryDone.catch(() => undefined);
  const source = await open(entry);
  await pipeline(source, hasher, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
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
    sink.end(undefined);
  });
  await entryDone;
  const out: BundleEntry = {
    path: entry.path,
    type: 'file',
    size: hasher.bytes,
    sha256: hasher.finalDigest?.slice(7) ?? '',
    volume,
  };
  return out;
}
