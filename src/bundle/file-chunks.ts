import { open } from 'node:fs/promises';

/**
 * Reads a file front to back into two buffers used in turn (the next read runs while
 * the caller works on the current chunk). A chunk is valid only until the caller asks
 * for the one after next: for consumers that are done with a chunk once they request
 * the next, such as zstd decompression (which copies what it keeps). Saves allocating
 * (and page-faulting, and collecting) a fresh buffer per chunk of a multi-GiB volume.
 * An abort of `signal` ends the read with the signal's reason before the next chunk.
 */
export async function* readFileChunks(
  path: string,
  chunkSize = 1 << 20,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  signal?.throwIfAborted();
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  let i = 0;
  let pending: Promise<{ bytesRead: number }> | undefined = fh.read(bufs[0] as Buffer, 0, chunkSize, null);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      signal?.throwIfAborted();
      const current = bufs[i] as Buffer;
      i ^= 1;
      pending = fh.read(bufs[i] as Buffer, 0, chunkSize, null);
      yield current.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    await fh.close();
  }
}
