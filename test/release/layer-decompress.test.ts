/**
 * Sniffing a layer's compression from its first bytes, and giving every byte back:
 * the same answer and the same bytes whether the layer arrives whole or one byte at a time.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { decompressor, peekCompression, sniffCompression } from '../../src/release/layer-decompress.js';

const plain = Buffer.from('release-manifests/image-references '.repeat(500));

function chunked(data: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('sniffCompression', () => {
  it('gzip from two bytes, zstd from four, anything else (or too short) is none', () => {
    expect(sniffCompression(Buffer.from([0x1f, 0x8b]))).toBe('gzip');
    expect(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f]))).toBe('none');
    expect(sniffCompression(Buffer.from([0x1f]))).toBe('none');
    expect(sniffCompression(new Uint8Array(0))).toBe('none');
    expect(sniffCompression(plain)).toBe('none');
  });

  it('reads a view into a larger buffer at its own offset', () => {
    const big = Buffer.concat([Buffer.from('xx'), gzipSync(plain)]);
    expect(sniffCompression(big.subarray(2, 6))).toBe('gzip');
  });
});

describe('peekCompression', () => {
  const layers: [string, Buffer, 'gzip' | 'zstd' | 'none'][] = [
    ['gzip', gzipSync(plain), 'gzip'],
    ['zstd', compress(plain), 'zstd'],
    ['plain', plain, 'none'],
    ['three bytes', Buffer.from([0x28, 0xb5, 0x2f]), 'none'],
    ['empty', Buffer.alloc(0), 'none'],
  ];
  for (const [name, layer, kind] of layers) {
    for (const size of [1, 3, 1 << 20]) {
      it(`${name} in ${size}-byte chunks: ${kind}, and every byte given back`, async () => {
        const { compression, stream } = await peekCompression(chunked(layer, size));
        expect(compression).toBe(kind);
        expect((await collect(stream)).equals(layer)).toBe(true);
      });
    }
  }

  it('decompressor() undoes what was sniffed, fed one byte at a time', async () => {
    for (const layer of [gzipSync(plain), compress(plain)]) {
      const { compression, stream } = await peekCompression(chunked(layer, 1));
      const undo = decompressor(compression);
      expect(undo).toBeDefined();
      const parts: Buffer[] = [];
      await pipeline(stream, undo!, async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) parts.push(c);
      });
      expect(Buffer.concat(parts).equals(plain)).toBe(true);
    }
    expect(decompressor('none')).toBeUndefined();
  });

  it('an error of the source after the peek surfaces on the returned stream', async () => {
    const cause = new Error('connection reset');
    const source = Readable.from(
      (async function* () {
        yield Buffer.from([0x1f, 0x8b, 8, 0]);
        throw cause;
      })(),
    );
    const { compression, stream } = await peekCompression(source);
    expect(compression).toBe('gzip');
    await expect(collect(stream)).rejects.toBe(cause);
  });
});
