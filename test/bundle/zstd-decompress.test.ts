/**
 * The bounded zstd decoder for untrusted volumes: the same output or the same error
 * whether the compressed bytes arrive whole or one byte at a time, and never more than
 * `maxOutput` bytes handed on.
 */
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { zstdBomb } from '../../fixtures/hostile/damage.js';
import { noise } from '../../fixtures/hostile/valid-bundle.js';
import { zstdDecompress } from '../../src/bundle/zstd-decompress.js';
import { isBaleError } from '../../src/errors.js';

async function* whole(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

async function* oneByteAtATime(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i++) yield data.subarray(i, i + 1);
}

interface Outcome {
  output: Buffer;
  chunks: number;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

async function run(source: AsyncIterable<Buffer>, maxOutput: number): Promise<Outcome> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of zstdDecompress(source, {
      maxOutput,
      what: 'volume-007.tar.zst',
      volume: 'volume-007.tar.zst',
    })) {
      parts.push(Buffer.from(chunk));
    }
    return { output: Buffer.concat(parts), chunks: parts.length };
  } catch (err) {
    if (!isBaleError(err)) throw err;
    return {
      output: Buffer.concat(parts),
      chunks: parts.length,
      error: { code: err.code, message: err.message, details: err.details },
    };
  }
}

const plain = Buffer.concat([
  Buffer.from('tar header '.repeat(100)),
  noise(5, 40_000),
  Buffer.alloc(300_000),
]);
const frame = compress(plain);

describe('zstdDecompress', () => {
  it('gives back the bytes that were compressed', async () => {
    const r = await run(whole(frame), plain.length);
    expect(r.error).toBeUndefined();
    expect(r.output.equals(plain)).toBe(true);
  });

  it('reads two concatenated frames as one stream (zstd -dc does)', async () => {
    const r = await run(whole(Buffer.concat([frame, compress(Buffer.from('second'))])), plain.length + 6);
    expect(r.error).toBeUndefined();
    expect(r.output.equals(Buffer.concat([plain, Buffer.from('second')]))).toBe(true);
  });

  /**
   * Regression: when a frame's last output exactly filled the 128 KiB output buffer,
   * the decoder was asked for more after the frame had ended, answered "need the next
   * frame's header", and a valid volume was refused as truncated (E_BUNDLE_CORRUPT):
   * any volume whose tar is a multiple of 128 KiB long.
   */
  it('a frame whose output is an exact multiple of the 128 KiB output buffer ends cleanly', async () => {
    for (const size of [128 << 10, 4 << 20, (4 << 20) + 512]) {
      const r = await run(whole(compress(Buffer.alloc(size, 7))), size);
      expect(r.error, `${size} bytes`).toBeUndefined();
      expect(r.output.equals(Buffer.alloc(size, 7))).toBe(true);
    }
  });

  it('a large expansion comes out in several bounded pieces, not one buffer', async () => {
    const r = await run(whole(compress(Buffer.alloc((4 << 20) + 3))), (4 << 20) + 3);
    expect(r.error).toBeUndefined();
    expect(r.output.length).toBe((4 << 20) + 3);
    expect(r.chunks).toBeGreaterThan(8);
    expect(r.chunks).toBeLessThan(64);
  });

  it('an empty input is E_BUNDLE_CORRUPT "is empty", naming the volume', async () => {
    const r = await run(whole(Buffer.alloc(0)), 100);
    expect(r.error).toMatchObject({ code: 'E_BUNDLE_CORRUPT', details: { volume: 'volume-007.tar.zst' } });
    expect(r.error?.message).toMatch(/volume-007\.tar\.zst: is empty/);
  });

  it('exactly maxOutput bytes is fine; one byte more is E_BUNDLE_HOSTILE with only maxOutput bytes handed on', async () => {
    expect((await run(whole(frame), plain.length)).error).toBeUndefined();
    const r = await run(whole(frame), plain.length - 1);
    expect(r.error?.code).toBe('E_BUNDLE_HOSTILE');
    expect(r.output.length).toBe(plain.length - 1);
    expect(r.output.equals(plain.subarray(0, plain.length - 1))).toBe(true);
  });
});

describe('zstdDecompress fed one byte at a time', () => {
  const cases: [string, Buffer, number][] = [
    ['a valid frame', frame, plain.length],
    ['two concatenated frames', Buffer.concat([frame, compress(Buffer.from('x'))]), plain.length + 1],
    ['a frame of exactly 32 output buffers', compress(Buffer.alloc(4 << 20)), 4 << 20],
    ['a frame cut short (truncated)', frame.subarray(0, frame.length - 9), plain.length],
    ['a frame cut inside its header', frame.subarray(0, 3), plain.length],
    ['bytes that are not zstd', Buffer.from('this is not a zstd frame at all'), 1000],
    [
      'a corrupted block',
      ((): Buffer => {
        const b = Buffer.from(frame);
        b.fill(0xff, 6, 40);
        return b;
      })(),
      plain.length,
    ],
    [
      'a bomb: 64 MiB of RLE zeros in a few hundred bytes, cap 1 MiB',
      zstdBomb(Buffer.from('head'), 64 << 20),
      1 << 20,
    ],
    ['output past the cap by one byte', frame, plain.length - 1],
  ];

  for (const [name, input, cap] of cases) {
    it(`${name}: the same output and the same error as fed whole`, async () => {
      const a = await run(whole(input), cap);
      const b = await run(oneByteAtATime(input), cap);
      expect(b.error).toEqual(a.error);
      expect(b.output.length).toBe(a.output.length);
      expect(b.output.equals(a.output)).toBe(true);
      expect(b.output.length).toBeLessThanOrEqual(cap);
    }, 120_000);
  }

  it('the errors are the ones expected: corrupt, truncated, hostile', async () => {
    const codes: Record<string, string | undefined> = {};
    for (const [name, input, cap] of cases) codes[name] = (await run(oneByteAtATime(input), cap)).error?.code;
    expect(codes).toEqual({
      'a valid frame': undefined,
      'two concatenated frames': undefined,
      'a frame of exactly 32 output buffers': undefined,
      'a frame cut short (truncated)': 'E_BUNDLE_CORRUPT',
      'a frame cut inside its header': 'E_BUNDLE_CORRUPT',
      'bytes that are not zstd': 'E_BUNDLE_CORRUPT',
      'a corrupted block': 'E_BUNDLE_CORRUPT',
      'a bomb: 64 MiB of RLE zeros in a few hundred bytes, cap 1 MiB': 'E_BUNDLE_HOSTILE',
      'output past the cap by one byte': 'E_BUNDLE_HOSTILE',
    });
  }, 120_000);
});
