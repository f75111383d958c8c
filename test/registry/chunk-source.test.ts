/**
 * ChunkSource: each PATCH body is a stream of the source's own buffers (cut, never
 * copied), read forward once; going back re-opens the source.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { ChunkSource } from '../../src/registry/chunk-source.js';
import { isBaleError } from '../../src/errors.js';
import { seededBytes } from '../helpers/prng.js';

const data = seededBytes(11, 100_000);
/** The data as the source gives it: buffers of 7 000 bytes (the last shorter). */
const pieces = (): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += 7000) out.push(data.subarray(i, i + 7000));
  return out;
};

function source(): { src: ChunkSource; given: Buffer[] } {
  const given: Buffer[] = [];
  const src = new ChunkSource(
    () => {
      const ps = pieces();
      given.push(...ps);
      return Readable.from(ps, { objectMode: true });
    },
    data.length,
    'test blob',
  );
  return { src, given };
}

async function parts(r: Readable): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of r) out.push(b as Buffer);
  return out;
}

describe('ChunkSource', () => {
  it('cuts the source into consecutive ranges with the bytes of the source', async () => {
    const { src } = source();
    const got: Buffer[] = [];
    for (let off = 0; off < data.length; off += 30_000) {
      got.push(await buffer(src.body(off, Math.min(30_000, data.length - off))));
    }
    expect(got.map((b) => b.length)).toEqual([30_000, 30_000, 30_000, 10_000]);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(src.opens).toBe(1);
    src.close();
  });

  it('hands on views of the source buffers, never copies', async () => {
    const { src, given } = source();
    const first = await parts(src.body(0, 10_000));
    const second = await parts(src.body(10_000, 20_000));
    // 7000 + 3000 | 4000 + 7000 + 7000 + 2000
    expect(first.map((b) => b.length)).toEqual([7000, 3000]);
    expect(second.map((b) => b.length)).toEqual([4000, 7000, 7000, 2000]);
    const backing = new Set(given.map((b) => b.buffer));
    for (const b of [...first, ...second]) expect(backing.has(b.buffer)).toBe(true);
    // The cut buffer's two halves are the same memory.
    expect(first[1]?.buffer).toBe(second[0]?.buffer);
    expect(second[0]?.byteOffset).toBe((first[1]?.byteOffset ?? 0) + 3000);
    src.close();
  });

  it('skips forward without re-opening, and re-opens to go back', async () => {
    const { src } = source();
    expect((await buffer(src.body(50_000, 1000))).equals(data.subarray(50_000, 51_000))).toBe(true);
    expect(src.opens).toBe(1);
    // A range asked again (a lost PATCH): the source is read again from its start.
    expect((await buffer(src.body(20_000, 5000))).equals(data.subarray(20_000, 25_000))).toBe(true);
    expect(src.opens).toBe(2);
    src.close();
  });

  it('a range read only in part, then asked again, gives the same bytes', async () => {
    const { src } = source();
    const r = src.body(0, 40_000);
    const it = r[Symbol.asyncIterator]();
    await it.next();
    r.destroy(); // the request failed after its first buffer
    expect((await buffer(src.body(0, 40_000))).equals(data.subarray(0, 40_000))).toBe(true);
    src.close();
  });

  it('a source shorter than its size: E_SIZE_MISMATCH naming what was read', async () => {
    const short = new ChunkSource(() => Readable.from([data.subarray(0, 500)]), 1000, 'blob x');
    const err = await buffer(short.body(0, 1000)).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_SIZE_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain('blob x: the local source ended after 500 of 1000 bytes');
    short.close();
  });

  it('a range past the end (a registry asking to continue beyond the blob) is refused', () => {
    const { src } = source();
    let err: unknown;
    try {
      src.body(data.length - 10, 11);
    } catch (e) {
      err = e;
    }
    expect(isBaleError(err, 'E_HTTP')).toBe(true);
    expect((err as Error).message).toContain(`continue at byte ${data.length - 10} of ${data.length}`);
  });
});
