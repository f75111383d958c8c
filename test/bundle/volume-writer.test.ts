/**
 * writeVolume (byte-identical volumes, frames and checkpoints, resume, refusals), and
 * readVolume over what it wrote (the round trip; readVolume alone is in volume-reader.test.ts).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CompressStream, DecompressStream } from 'zstd-napi';
import type { PlannedEntry } from '../../src/bundle/plan.js';
import type { Problem } from '../../src/bundle/problem.js';
import { readVolume, type ExpectedEntry } from '../../src/bundle/volume-reader.js';
import { writeVolume } from '../../src/bundle/volume-writer.js';
import { sha256Hex } from '../../src/digest.js';
import { isBaleError } from '../../src/errors.js';
import { noise } from '../../fixtures/hostile/valid-bundle.js';
import { mulberry32 } from '../helpers/prng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-volume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const manifest = Buffer.from('{"schemaVersion":2}');
const hex = sha256Hex(manifest);
const layer = noise(3, 300_000);
const layerHex = sha256Hex(layer);
const entries: PlannedEntry[] = [
  { path: `v2/r/blobs/sha256:${layerHex}`, type: 'file', size: layer.length, sha256: layerHex },
  { path: `v2/r/blobs/sha256:${hex}`, type: 'file', size: manifest.length, sha256: hex },
  { path: `v2/r/manifests/sha256:${hex}`, type: 'hardlink', size: 0, linkTarget: `v2/r/blobs/sha256:${hex}` },
  { path: 'v2/r/manifests/v1', type: 'symlink', size: 0, linkTarget: `sha256:${hex}` },
  { path: 'config/a.yaml', type: 'file', size: 6 },
];
const chunkSizes = mulberry32(13);
const content = (e: PlannedEntry): Readable => {
  if (e.path === 'config/a.yaml') return Readable.from([Buffer.from('a: 1\n'), Buffer.from('\n')]);
  const data = e.path.endsWith(layerHex) ? layer : manifest;
  // Chunk the source differently each call (seeded): output must not depend on it.
  const size = 1 + Math.floor(chunkSizes() * 70_000);
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
};

describe('writeVolume', () => {
  test('is deterministic: same inputs, byte-identical volume', async () => {
    const a = await writeVolume(join(dir, 'volume-001.tar.zst'), entries, content);
    const first = await readFile(join(dir, 'volume-001.tar.zst'));
    const b = await writeVolume(join(dir, 'volume-002.tar.zst'), entries, content);
    const second = await readFile(join(dir, 'volume-002.tar.zst'));
    expect(first.equals(second)).toBe(true);
    expect(a.sha256).toBe(b.sha256);
    expect(a.sha256).toBe(sha256Hex(first));
    expect(a.entries.find((e) => e.path === 'config/a.yaml')?.sha256).toBe(sha256Hex('a: 1\n\n'));
  });

  test('a source shorter than planned fails and leaves no file behind', async () => {
    const path = join(dir, 'volume-009.tar.zst');
    const bad = [{ path: 'config/x', type: 'file' as const, size: 10 }];
    let err: unknown;
    try {
      await writeVolume(path, bad, () => Readable.from([Buffer.from('short')]));
    } catch (e) {
      err = e;
    }
    expect(isBaleError(err, 'E_SIZE_MISMATCH')).toBe(true);
    await expect(readFile(path)).rejects.toThrow();
    await expect(readFile(`${path}.tmp`)).rejects.toThrow();
  });

  test('a source with other bytes than its digest fails', async () => {
    const bad = [
      { path: `v2/r/blobs/sha256:${hex}`, type: 'file' as const, size: manifest.length, sha256: hex },
    ];
    await expect(
      writeVolume(join(dir, 'volume-010.tar.zst'), bad, () => Readable.from([Buffer.alloc(manifest.length)])),
    ).rejects.toMatchObject({ code: 'E_DIGEST_MISMATCH' });
  });

  test('the volume is exactly zstd-napi CompressStream over the same tar (large, multi-chunk output)', async () => {
    const big = noise(11, 9 << 20); // more than two of the writer's 4 MiB output buffers
    const bigHex = sha256Hex(big);
    const bigEntries: PlannedEntry[] = [
      { path: `v2/r/blobs/sha256:${bigHex}`, type: 'file', size: big.length, sha256: bigHex },
      ...entries,
    ];
    const open = (e: PlannedEntry): Readable =>
      e.path.endsWith(bigHex)
        ? Readable.from([big.subarray(0, 1_000_003), big.subarray(1_000_003)])
        : content(e);
    const path = join(dir, 'volume-020.tar.zst');
    const w = await writeVolume(path, bigEntries, open);
    const ours = await readFile(path);
    expect(w.size).toBe(ours.length);
    expect(w.sha256).toBe(sha256Hex(ours));
    const tarBytes = await collect(Readable.from([ours]).pipe(new DecompressStream()));
    const reference = await collect(
      Readable.from([tarBytes]).pipe(new CompressStream({ compressionLevel: 3 })),
    );
    expect(ours.equals(reference)).toBe(true);
  });

  test('trustKnownDigests: records the known sha256 without hashing, still checks sizes', async () => {
    const wrong = Buffer.alloc(manifest.length); // same size, other bytes: trusted, not re-hashed
    const one = [
      { path: `v2/r/blobs/sha256:${hex}`, type: 'file' as const, size: manifest.length, sha256: hex },
    ];
    const w = await writeVolume(join(dir, 'volume-021.tar.zst'), one, () => Readable.from([wrong]), {
      trustKnownDigests: true,
    });
    expect(w.entries[0]?.sha256).toBe(hex);
    await expect(
      writeVolume(join(dir, 'volume-022.tar.zst'), one, () => Readable.from([manifest.subarray(1)]), {
        trustKnownDigests: true,
      }),
    ).rejects.toMatchObject({ code: 'E_SIZE_MISMATCH' });
    await expect(
      writeVolume(join(dir, 'volume-023.tar.zst'), one, () => Readable.from([manifest, Buffer.from('x')]), {
        trustKnownDigests: true,
      }),
    ).rejects.toMatchObject({ code: 'E_SIZE_MISMATCH' });
    // An entry without a known sha256 is still hashed.
    const cfg = [{ path: 'config/a.yaml', type: 'file' as const, size: 6 }];
    const c = await writeVolume(join(dir, 'volume-024.tar.zst'), cfg, content, { trustKnownDigests: true });
    expect(c.entries[0]?.sha256).toBe(sha256Hex('a: 1\n\n'));
  });
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('readVolume', () => {
  // The 1- and 7-byte reads go through zstd and two tar parsers a byte at a time: they
  // read a volume with a small layer (the boundaries are the same; minutes become seconds).
  const smallLayer = noise(5, 12_000);
  const smallHex = sha256Hex(smallLayer);
  const expected = async (
    small = false,
  ): Promise<{
    path: string;
    expected: ExpectedEntry[];
    layerPath: string;
    layerSha: string;
  }> => {
    if (!small) {
      const path = join(dir, 'volume-100.tar.zst');
      const w = await writeVolume(path, entries, content);
      return { path, expected: w.entries, layerPath: entries[0]!.path, layerSha: layerHex };
    }
    const layerPath = `v2/r/blobs/sha256:${smallHex}`;
    const smallEntries: PlannedEntry[] = [
      { path: layerPath, type: 'file', size: smallLayer.length, sha256: smallHex },
      ...entries.slice(1),
    ];
    const path = join(dir, 'volume-101.tar.zst');
    const w = await writeVolume(path, smallEntries, (e) =>
      e.path === layerPath ? Readable.from([smallLayer]) : content(e),
    );
    return { path, expected: w.entries, layerPath, layerSha: smallHex };
  };

  for (const chunk of [1, 7, 512, 65536]) {
    test(`reads the volume fed in ${chunk}-byte chunks`, async () => {
      const { path, expected: exp, layerPath, layerSha } = await expected(chunk < 512);
      const data = await readFile(path);
      async function* chunks(): AsyncGenerator<Buffer> {
        for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
      }
      const got = new Map<string, string>();
      const problems: Problem[] = [];
      const r = await readVolume(chunks(), {
        volume: 'volume-100.tar.zst',
        expected: exp,
        onProblem: (p) => problems.push(p),
        onEntry: async (e, stream) => {
          if (!stream) {
            got.set(e.path, `-> ${e.linkTarget}`);
            return;
          }
          const parts: Buffer[] = [];
          for await (const c of stream) parts.push(c as Buffer);
          got.set(e.path, sha256Hex(Buffer.concat(parts)));
        },
      });
      expect(problems).toEqual([]);
      expect(r).toEqual({ entries: 5, verified: 5, aborted: false });
      expect(got.get(layerPath)).toBe(layerSha);
      expect(got.get('v2/r/manifests/v1')).toBe(`-> sha256:${hex}`);
    }, 120_000);
  }

  test('without onProblem, the first problem throws with volume and entry', async () => {
    const { path, expected: exp } = await expected();
    const wrong = exp.map((e) => (e.path === 'config/a.yaml' ? { ...e, sha256: '0'.repeat(64) } : e));
    await expect(
      readVolume(createReadStream(path), { volume: 'volume-100.tar.zst', expected: wrong }),
    ).rejects.toMatchObject({
      code: 'E_DIGEST_MISMATCH',
      details: { volume: 'volume-100.tar.zst', entry: 'config/a.yaml' },
    });
  });

  test('a handler that stops early does not stop the checks', async () => {
    const { path, expected: exp } = await expected();
    const problems: Problem[] = [];
    const r = await readVolume(createReadStream(path), {
      volume: 'v',
      expected: exp,
      onProblem: (p) => problems.push(p),
      onEntry: async (_e, stream) => {
        if (!stream) return;
        for await (const _ of stream) break;
      },
    });
    expect(problems).toEqual([]);
    expect(r.verified).toBe(5);
  });

  test('an error from the handler is rethrown as is', async () => {
    const { path, expected: exp } = await expected();
    const boom = new Error('push failed');
    await expect(
      readVolume(createReadStream(path), {
        volume: 'v',
        expected: exp,
        onEntry: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  test('an empty file is corrupt', async () => {
    async function* none(): AsyncGenerator<Buffer> {}
    const problems: Problem[] = [];
    await readVolume(none(), { volume: 'v', expected: [], onProblem: (p) => problems.push(p) });
    expect(problems.map((p) => p.code)).toEqual(['E_BUNDLE_CORRUPT']);
  });
});
