/**
 * Digests: the one accepted form (sha256:<64 lowercase hex>), and HashingStream, which
 * hashes and counts while bytes flow and fails on a size or digest other than expected
 * (early, before reading on, when more bytes arrive than expected). Fed whole, one byte
 * at a time, and empty.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { assertDigest, digestHex, HashingStream, isDigest, sha256Digest, sha256Hex } from '../src/digest.js';
import type { BaleError } from '../src/errors.js';
import { isBaleError } from '../src/errors.js';
import { seededBytes } from './helpers/prng.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('isDigest / assertDigest / digestHex', () => {
  it('accepts only sha256: and 64 lowercase hex', () => {
    expect(isDigest(`sha256:${ABC}`)).toBe(true);
    for (const bad of [
      `sha256:${ABC.toUpperCase()}`,
      `sha512:${ABC}`,
      ABC,
      `sha256:${ABC}0`,
      `sha256:${ABC.slice(1)}`,
      ` sha256:${ABC}`,
      `sha256:${ABC}\n`,
      42,
      undefined,
      null,
    ]) {
      expect(isDigest(bad), String(bad)).toBe(false);
    }
  });

  it('assertDigest throws E_REFERENCE naming what and the value, with a hint', () => {
    let err: unknown;
    try {
      assertDigest('sha256:abc', 'image digest');
    } catch (e) {
      err = e;
    }
    expect(isBaleError(err, 'E_REFERENCE')).toBe(true);
    expect((err as Error).message).toBe('image digest "sha256:abc" is not a sha256 digest');
    expect((err as BaleError).hint).toMatch(/64 lowercase hex/);
    expect(() => assertDigest(`sha256:${ABC}`)).not.toThrow();
  });

  it('digestHex is the hex part, and refuses what is not a digest', () => {
    expect(digestHex(`sha256:${ABC}`)).toBe(ABC);
    expect(() => digestHex('md5:00')).toThrow(/is not a sha256 digest/);
  });

  it('sha256Hex / sha256Digest of strings and bytes', () => {
    expect(sha256Hex('')).toBe(EMPTY);
    expect(sha256Hex('abc')).toBe(ABC);
    expect(sha256Hex(Buffer.from('abc'))).toBe(ABC);
    expect(sha256Digest(new Uint8Array([0x61, 0x62, 0x63]))).toBe(`sha256:${ABC}`);
  });
});

async function through(
  chunks: Buffer[],
  expect?: ConstructorParameters<typeof HashingStream>[0],
): Promise<{ h: HashingStream; out: Buffer; seen: number }> {
  const h = new HashingStream(expect);
  const got: Buffer[] = [];
  let seen = 0;
  const source = Readable.from(
    (function* () {
      for (const c of chunks) {
        seen++;
        yield c;
      }
    })(),
    { objectMode: false },
  );
  await pipeline(
    source,
    h,
    new Writable({
      write(c: Buffer, _e, cb) {
        got.push(c);
        cb();
      },
    }),
  );
  return { h, out: Buffer.concat(got), seen };
}

const bytes = seededBytes(7, 100_000);
const bytesDigest = sha256Digest(bytes);
const oneByOne = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));

describe('HashingStream', () => {
  it.each([
    ['whole', [bytes]],
    [
      'in 4 KiB chunks',
      Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) =>
        bytes.subarray(i * 4096, (i + 1) * 4096),
      ),
    ],
  ])('passes the bytes through unchanged, hashing and counting them (%s)', async (_how, chunks) => {
    const { h, out } = await through(chunks, { digest: bytesDigest, size: bytes.length, what: 'blob' });
    expect(out.equals(bytes)).toBe(true);
    expect(h.bytes).toBe(bytes.length);
    expect(h.finalDigest).toBe(bytesDigest);
  });

  it('fed one byte at a time gives the same digest', async () => {
    const small = bytes.subarray(0, 3000);
    const { h } = await through(oneByOne(small), {
      digest: sha256Digest(small),
      size: small.length,
      what: 'blob',
    });
    expect(h.finalDigest).toBe(sha256Digest(small));
  });

  it('empty input: the empty digest; without expectations it only measures', async () => {
    const { h } = await through([], { size: 0, digest: `sha256:${EMPTY}`, what: 'empty' });
    expect(h.finalDigest).toBe(`sha256:${EMPTY}`);
    const free = await through([Buffer.from('abc')]);
    expect(free.h.finalDigest).toBe(`sha256:${ABC}`);
    expect(free.h.bytes).toBe(3);
  });

  it('fewer bytes than expected: E_SIZE_MISMATCH naming what, both sizes in details', async () => {
    const err = await through([bytes.subarray(0, 10)], { size: 11, what: 'v2/a/blobs/x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBaleError(err, 'E_SIZE_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe('v2/a/blobs/x: got 10 bytes, expected 11');
    expect((err as BaleError).details).toEqual({ expectedSize: 11, actualSize: 10 });
  });

  it('more bytes than expected: fails at once, without reading the rest of the source', async () => {
    const chunks = oneByOne(bytes.subarray(0, 1000));
    const h = new HashingStream({ size: 10, what: 'layer' });
    let pulled = 0;
    const source = Readable.from(
      (function* () {
        for (const c of chunks) {
          pulled++;
          yield c;
        }
      })(),
    );
    const err = await pipeline(source, h, new Writable({ write: (_c, _e, cb) => cb() })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBaleError(err, 'E_SIZE_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe('layer: more than the expected 10 bytes');
    expect(pulled).toBeLessThan(100);
    expect(h.bytes).toBe(11);
  });

  it('other content of the right size: E_DIGEST_MISMATCH with both digests', async () => {
    const changed = Buffer.from(bytes);
    changed[500] = (changed[500] ?? 0) ^ 1;
    const err = await through([changed], { digest: bytesDigest, size: bytes.length, what: 'blob x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBaleError(err, 'E_DIGEST_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe(
      `blob x: content is ${sha256Digest(changed)}, expected ${bytesDigest}`,
    );
    expect((err as BaleError).details).toEqual({
      expectedDigest: bytesDigest,
      actualDigest: sha256Digest(changed),
    });
  });
});
