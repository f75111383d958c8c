/**
 * The volume reader (zstd → strict tar scan → tar parser → index checks) fed one byte at
 * a time as well as whole: for a valid volume the same entries and contents, and for
 * every damaged volume of the hostile-media fixtures (the damages `verify` is tested
 * against, re-sealed so only the deep checks can catch them) the same problems, in the
 * same order, with the same codes, entries and messages.
 */
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compress } from 'zstd-napi';
import { DAMAGES, removeDir, tarBytes, zstdBomb } from '../../fixtures/hostile/damage.js';
import { buildValidBundle, makeSigningKey, type ValidBundle } from '../../fixtures/hostile/valid-bundle.js';
import { parseIndex } from '../../src/bundle/bundle-index.js';
import { expectedEntries } from '../../src/bundle/expected-entries.js';
import type { Problem } from '../../src/bundle/problem.js';
import { readVolume, type ReadVolumeResult } from '../../src/bundle/volume-reader.js';
import { sha256Hex } from '../../src/digest.js';

async function* whole(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

async function* oneByteAtATime(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i++) yield data.subarray(i, i + 1);
}

interface Read {
  result: ReadVolumeResult;
  problems: Problem[];
  /** path → sha256 of the content handed to onEntry, or `-> target` for a link. */
  seen: Record<string, string>;
}

async function read(dir: string, volume: string, feed: (b: Buffer) => AsyncIterable<Buffer>): Promise<Read> {
  const index = parseIndex(await readFile(join(dir, 'bundle.json')));
  const locate = new Map(index.entries.map((e) => [e.path, e.volume]));
  const problems: Problem[] = [];
  const seen: Record<string, string> = {};
  const result = await readVolume(feed(await readFile(join(dir, volume))), {
    volume,
    expected: expectedEntries(index, volume),
    locate: (p) => locate.get(p),
    onProblem: (p) => problems.push(p),
    onEntry: async (e, content) => {
      if (!content) {
        seen[e.path] = `-> ${e.linkTarget}`;
        return;
      }
      const parts: Buffer[] = [];
      for await (const c of content) parts.push(c as Buffer);
      seen[e.path] = sha256Hex(Buffer.concat(parts));
    },
  });
  return { result, problems, seen };
}

/** Volume problems the reader itself must find (the others come from verify's later checks). */
const READER_CODES = new Set([
  'E_BUNDLE_HOSTILE',
  'E_BUNDLE_INVALID',
  'E_BUNDLE_CORRUPT',
  'E_SIZE_MISMATCH',
  'E_DIGEST_MISMATCH',
  'E_BUNDLE_INCOMPLETE',
]);

/** Damages that change no volume, or whose problem is found by a check after the reader. */
const NOT_THE_READER = new Set([
  'forged bundle.json (release digest changed, not re-sealed)', // the index checksum
  'missing volume', // no file to read
  'extra file in the directory', // the directory listing
  'missing layer (completeness)', // the manifest graph
  'tag pointing at a missing manifest', // the manifest graph and the signed chain
]);

let root: string;
let pristine: ValidBundle;
let copies = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-volume-reader-'));
  pristine = await buildValidBundle(join(root, 'pristine'), await makeSigningKey());
}, 60_000);
afterAll(async () => {
  await removeDir(root);
});

describe('readVolume fed one byte at a time', () => {
  test('every volume of a valid bundle: the same entries and contents as fed whole, no problem', async () => {
    expect(pristine.index.volumes.length).toBeGreaterThanOrEqual(3);
    for (const v of pristine.index.volumes) {
      const a = await read(pristine.dir, v.name, whole);
      const b = await read(pristine.dir, v.name, oneByteAtATime);
      expect(a.problems, v.name).toEqual([]);
      expect(a.result).toEqual({ entries: v.entries, verified: v.entries, aborted: false });
      expect(b).toEqual(a);
    }
  }, 300_000);

  /**
   * Found with this test: a volume whose tar is a multiple of the decoder's 128 KiB
   * output buffer was refused as truncated (zstd-decompress.ts).
   */
  test('a volume whose tar is exactly 2 MiB long (a multiple of the decoder buffer) reads clean', async () => {
    const dir = join(root, 'exact');
    await cp(pristine.dir, dir, { recursive: true });
    const body = Buffer.alloc(2 * 1024 * 1024 - 2048, 1); // + 512 header + 1024 end marker + 512 pad
    const tar = await tarBytes([{ header: { name: 'config/big.yaml', type: 'file', mode: 0o644 }, body }]);
    const padded = Buffer.concat([tar, Buffer.alloc(2 * 1024 * 1024 - tar.length)]);
    expect(padded.length % (128 * 1024)).toBe(0);
    const problems: Problem[] = [];
    const expected = [
      { path: 'config/big.yaml', type: 'file' as const, size: body.length, sha256: sha256Hex(body) },
    ];
    for (const feed of [whole, oneByteAtATime]) {
      const r = await readVolume(feed(compress(padded)), {
        volume: 'volume-009.tar.zst',
        expected,
        onProblem: (p) => problems.push(p),
      });
      expect(r).toEqual({ entries: 1, verified: 1, aborted: false });
    }
    expect(problems).toEqual([]);
  }, 120_000);

  /**
   * Found with this test: an entry larger than the index says stops the read, but fed in
   * pieces of 1 to 4 bytes the feeder then wrote into the closed tar parser and waited
   * for a 'close' that had already gone: readVolume never returned (volume-reader.ts).
   */
  test('an oversized entry fed in 1- to 4-byte pieces stops the read instead of hanging', async () => {
    // A ustar header for 300000 bytes, then zeros in zstd RLE blocks (as the bomb damage).
    const header = (
      await tarBytes([
        { header: { name: 'config/big.yaml', type: 'file', mode: 0o644 }, body: Buffer.alloc(300_000) },
      ])
    ).subarray(0, 512);
    const volume = zstdBomb(Buffer.from(header), 300_000 + 1024);
    for (const size of [1, 2, 3, 4]) {
      const problems: Problem[] = [];
      async function* pieces(): AsyncGenerator<Buffer> {
        for (let i = 0; i < volume.length; i += size) yield volume.subarray(i, i + size);
      }
      const r = await readVolume(pieces(), {
        volume: 'volume-002.tar.zst',
        expected: [{ path: 'config/big.yaml', type: 'file', size: 10, sha256: sha256Hex('0123456789') }],
        onProblem: (p) => problems.push(p),
      });
      expect(r).toEqual({ entries: 1, verified: 0, aborted: true });
      expect(problems.map((p) => [p.code, p.entry])).toEqual([['E_SIZE_MISMATCH', 'config/big.yaml']]);
    }
  }, 30_000);

  for (const [name, damage] of Object.entries(DAMAGES)) {
    if (NOT_THE_READER.has(name)) continue;
    test(`${name}: the same problems as fed whole`, async () => {
      const dir = join(root, `copy-${++copies}`);
      await cp(pristine.dir, dir, { recursive: true });
      const b = { ...pristine, dir, index: structuredClone(pristine.index) };
      const expected = (await damage(b)).filter((p) => p.volume !== undefined && READER_CODES.has(p.code));
      expect(expected.length, 'the damage names a volume problem').toBeGreaterThan(0);
      for (const volume of new Set(expected.map((p) => p.volume as string))) {
        const a = await read(dir, volume, whole);
        const c = await read(dir, volume, oneByteAtATime);
        // What the reader reports fed whole is what verify is tested to report.
        for (const p of expected.filter((x) => x.volume === volume)) {
          expect(a.problems).toContainEqual(expect.objectContaining(p));
        }
        expect(c.problems).toEqual(a.problems);
        expect(c.result).toEqual(a.result);
        expect(c.seen).toEqual(a.seen);
      }
    }, 300_000);
  }
});
