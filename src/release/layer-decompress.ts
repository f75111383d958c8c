import { Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';

/** How a layer blob is compressed, judged from its first bytes. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Compression of a blob from its first (up to 4) bytes. */
export function sniffCompression(head: Uint8Array): LayerCompression {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 2 && b.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (b.length >= 4 && b.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** A decompressing transform for `compression`, or undefined when there is nothing to undo. */
export function decompressor(compression: LayerCompression): Transform | undefined {
  switch (compression) {
    case 'gzip':
      return createGunzip();
    case 'zstd':
      return new DecompressStream();
    case 'none':
      return undefined;
  }
}

/**
 * Reads the first bytes of `source` to learn its compression, then returns a stream
 * that yields all of `source` again (nothing is lost) together with that compression.
 * Errors of `source` surface on the returned stream.
 */
export async function peekCompression(
  source: Readable,
): Promise<{ compression: LayerCompression; stream: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < ZSTD_MAGIC.length) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    headBytes += chunk.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      }
    } finally {
      // Stopped early (the consumer failed): release the source.
      if (!ended) await iterator.return?.();
    }
  }
  return { compression: sniffCompression(first), stream: Readable.from(replay(), { objectMode: false }) };
}
