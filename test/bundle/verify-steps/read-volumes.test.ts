/**
 * Verify step 3 on real bundles built by bale's own writer (fixtures/hostile): every
 * selected volume read once, its size and sha256 checked, small content kept, split
 * entries joined and hashed, and the bytes handed to an entry tap (unpack's single pass)
 * that learns of every failure.
 */
import { appendFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../../fixtures/hostile/valid-bundle.js';
import { readBundleFiles } from '../../../src/bundle/verify-steps/bundle-files.js';
import type { EntryTap } from '../../../src/bundle/verify-steps/entry-tap.js';
import { readVolumes, volumeChains } from '../../../src/bundle/verify-steps/read-volumes.js';
import { bundleOf, type OpenedBundle } from '../../../src/bundle/open-bundle.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import type { Problem } from '../../../src/bundle/problem.js';
import { sha256Hex } from '../../../src/digest.js';
import { silentProgress } from '../../../src/progress.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const run_ = promisify(execFile);

let root: string;
let key: SigningKey;
/** 100 KiB layers in 40 KiB volumes: the layers are split over several volumes. */
let split: ValidBundle;
/** 16 KiB layers: no entry is split. */
let plain: ValidBundle;

beforeAll(async () => {
  root = await makeTempDir('bale-read-volumes-');
  key = await makeSigningKey();
  split = await buildValidBundle(join(root, 'split'), key, { layerSize: 100 * 1024 });
  plain = await buildValidBundle(join(root, 'plain'), key);
}, 120_000);
afterAll(async () => {
  await removeTempDir(root);
});

async function open(dir: string): Promise<OpenedBundle> {
  const problems: Problem[] = [];
  const files = await readBundleFiles(dir, (p) => problems.push(p), { wholeBundle: false });
  if (!files.rawIndex || !files.index) throw new Error(`fixture: ${JSON.stringify(problems)}`);
  return bundleOf(dir, {
    rawIndex: files.rawIndex,
    index: files.index,
    ...(files.sums ? { sums: files.sums } : {}),
  });
}

let copies = 0;
async function copyOf(b: ValidBundle): Promise<string> {
  const dir = join(root, `copy-${++copies}`);
  await cp(b.dir, dir, { recursive: true });
  return dir;
}

/** A tap recording, per entry, the bytes it got and whether it ended or failed. */
function recordingTap(): {
  tap: EntryTap;
  got: Map<string, { bytes: Buffer[]; state: 'open' | 'ended' | 'failed'; sha256?: string }>;
} {
  const got = new Map<string, { bytes: Buffer[]; state: 'open' | 'ended' | 'failed'; sha256?: string }>();
  const tap: EntryTap = {
    entry(_volume, e) {
      if (!e.path.startsWith('v2/') || !e.path.includes('/blobs/')) return undefined;
      const rec = {
        bytes: [] as Buffer[],
        state: 'open' as 'open' | 'ended' | 'failed',
        ...(e.sha256 ? { sha256: e.sha256 } : {}),
      };
      got.set(e.path, rec);
      return {
        write: (c) => {
          rec.bytes.push(Buffer.from(c));
        },
        end: () => {
          rec.state = 'ended';
        },
        fail: () => {
          rec.state = 'failed';
        },
      };
    },
  };
  return { tap, got };
}

async function run(
  dir: string,
  o: { only?: Set<string>; tap?: EntryTap; signal?: AbortSignal; concurrency?: number } = {},
): Promise<{ problems: Problem[]; found: Awaited<ReturnType<typeof readVolumes>> }> {
  const problems: Problem[] = [];
  const found = await readVolumes(
    await open(dir),
    o.only,
    {
      progress: silentProgress,
      ...(o.tap ? { tap: o.tap } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    },
    (p) => problems.push(p),
  );
  return { problems, found };
}

describe('volumeChains', () => {
  const idx = (entries: BundleIndex['entries']): BundleIndex => ({ entries }) as BundleIndex;
  const part = (
    volume: string,
    n: number,
  ): { volume: string; path: string; offset: number; size: number; sha256: string } => ({
    volume,
    path: `x.part-00${n}`,
    offset: n,
    size: 1,
    sha256: '0'.repeat(64),
  });

  it('keeps independent volumes apart and puts the volumes of one split entry in one chain, in order', () => {
    const index = idx([
      { path: 'a', type: 'file', size: 2, parts: [part('v2', 1), part('v3', 2)] },
      { path: 'b', type: 'file', size: 2, parts: [part('v3', 1), part('v4', 2)] },
      { path: 'c', type: 'file', size: 1, volume: 'v1' },
    ]);
    expect(volumeChains(index, ['v1', 'v2', 'v3', 'v4', 'v5'])).toEqual([['v1'], ['v2', 'v3', 'v4'], ['v5']]);
  });

  it('only the selected volumes: a part in an unselected volume links nothing', () => {
    const index = idx([{ path: 'a', type: 'file', size: 2, parts: [part('v1', 1), part('v2', 2)] }]);
    expect(volumeChains(index, ['v2', 'v3'])).toEqual([['v2'], ['v3']]);
    expect(volumeChains(index, [])).toEqual([]);
  });

  it('the fixture with split layers has chains of more than one volume', () => {
    const chains = volumeChains(
      split.index,
      split.index.volumes.map((v) => v.name),
    );
    expect(split.index.entries.some((e) => e.parts !== undefined)).toBe(true);
    expect(chains.some((c) => c.length > 1)).toBe(true);
    expect(chains.flat().sort()).toEqual(split.index.volumes.map((v) => v.name).sort());
  });
});

describe('readVolumes', () => {
  it('a valid bundle: no problem, every volume and entry counted, small content kept as verified', async () => {
    const { problems, found } = await run(plain.dir);
    expect(problems).toEqual([]);
    expect(found.checked.volumes).toBe(plain.index.volumes.length);
    expect(found.checked.entries).toBe(plain.index.volumes.reduce((n, v) => n + v.entries, 0));
    expect(found.tooLarge.size).toBe(0);
    // Manifests (the blobs hard links point at), signatures and config/ files are kept; layers are not.
    const manifestBlob =
      plain.index.entries.find((e) => e.path === plain.paths.componentManifest)?.linkTarget ?? '';
    expect(found.content.get(manifestBlob)?.length).toBeGreaterThan(0);
    expect(found.content.has(plain.paths.signature)).toBe(true);
    expect(found.content.has(plain.paths.configMap)).toBe(true);
    expect(found.content.has(plain.paths.componentLayer)).toBe(false);
    const sig = plain.index.entries.find((e) => e.path === plain.paths.signature);
    expect(sha256Hex(found.content.get(plain.paths.signature) ?? Buffer.alloc(0))).toBe(sig?.sha256);
  });

  it('hands every blob to the tap, split ones joined whole, each ended once and matching its sha256', async () => {
    const { tap, got } = recordingTap();
    const { problems } = await run(split.dir, { tap, concurrency: 2 });
    expect(problems).toEqual([]);
    const blobs = split.index.entries.filter((e) => e.type === 'file' && e.path.includes('/blobs/'));
    expect([...got.keys()].sort()).toEqual(blobs.map((e) => e.path).sort());
    for (const e of blobs) {
      const rec = got.get(e.path);
      expect(rec?.state, e.path).toBe('ended');
      expect(sha256Hex(Buffer.concat(rec?.bytes ?? [])), e.path).toBe(e.sha256);
    }
    expect(blobs.some((e) => e.parts !== undefined)).toBe(true);
  });

  it('a missing volume: E_BUNDLE_INCOMPLETE naming it and the directory; the split entry it held fails in the tap', async () => {
    const dir = await copyOf(split);
    const splitEntry = split.index.entries.find((e) => e.parts !== undefined && e.parts.length > 1);
    const lastVolume = splitEntry?.parts?.at(-1)?.volume ?? '';
    await rm(join(dir, lastVolume));
    const { tap, got } = recordingTap();
    const { problems } = await run(dir, { tap });
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_INCOMPLETE',
      volume: lastVolume,
      message: `${lastVolume} is missing from ${dir}`,
    });
    expect(got.get(splitEntry?.path ?? '')?.state).toBe('failed');
  });

  it('a volume that is a directory: E_BUNDLE_INVALID, not a regular file', async () => {
    const dir = await copyOf(plain);
    const v = plain.index.volumes[0]?.name ?? '';
    await rm(join(dir, v));
    await mkdir(join(dir, v));
    const { problems } = await run(dir);
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_INVALID',
      volume: v,
      message: `${v} is not a regular file`,
    });
  });

  it('a volume that is a FIFO is refused at once, never opened (a read would block)', async () => {
    const dir = await copyOf(plain);
    const v = plain.index.volumes[0]?.name ?? '';
    await rm(join(dir, v));
    await run_('mkfifo', [join(dir, v)]);
    const { problems } = await run(dir);
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_INVALID',
      volume: v,
      message: `${v} is not a regular file`,
    });
  });

  it('a volume with a byte appended: its size and sha256 differ from bundle.json (E_BUNDLE_CORRUPT, both named)', async () => {
    const dir = await copyOf(plain);
    const v = plain.index.volumes[0];
    if (!v) throw new Error('fixture');
    await appendFile(join(dir, v.name), Buffer.from([0]));
    const actual = sha256Hex(await readFile(join(dir, v.name)));
    const { problems } = await run(dir);
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_CORRUPT',
      volume: v.name,
      message: `${v.name} is ${v.size + 1} bytes, bundle.json says ${v.size}`,
    });
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_CORRUPT',
      volume: v.name,
      message: `${v.name} has sha256 ${actual}, bundle.json says ${v.sha256}`,
    });
  });

  it('SHA256SUMS that leaves a volume out, or gives it another sha256, is reported for that volume', async () => {
    const dir = await copyOf(plain);
    const [v1, v2] = plain.index.volumes;
    if (!v1 || !v2) throw new Error('fixture: needs two volumes');
    const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8'))
      .split('\n')
      .filter((l) => !l.endsWith(`  ${v1.name}`))
      .map((l) => (l.endsWith(`  ${v2.name}`) ? `${'1'.repeat(64)}  ${v2.name}` : l))
      .join('\n');
    await writeFile(join(dir, 'SHA256SUMS'), sums);
    const { problems } = await run(dir);
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        file: 'SHA256SUMS',
        volume: v1.name,
        message: `SHA256SUMS does not list ${v1.name}`,
      },
      {
        code: 'E_BUNDLE_CORRUPT',
        volume: v2.name,
        message: `${v2.name}: SHA256SUMS says sha256 ${'1'.repeat(64)}, bundle.json says ${v2.sha256}`,
      },
    ]);
  });

  it('only the selected volumes are read', async () => {
    const dir = await copyOf(plain);
    const [v1, v2] = plain.index.volumes;
    if (!v1 || !v2) throw new Error('fixture: needs two volumes');
    await rm(join(dir, v2.name));
    const { problems, found } = await run(dir, { only: new Set([v1.name]) });
    expect(problems).toEqual([]);
    expect(found.checked.volumes).toBe(1);
    expect(found.checked.entries).toBe(v1.entries);
  });

  it('a damaged part: the split entry fails in the tap and is not reported as a join mismatch', async () => {
    const dir = await copyOf(split);
    const splitEntry = split.index.entries.find((e) => e.parts !== undefined && e.parts.length > 1);
    const vol = splitEntry?.parts?.[0]?.volume ?? '';
    // Flip a byte in the middle of the volume holding the first part.
    const bytes = await readFile(join(dir, vol));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    await writeFile(join(dir, vol), bytes);
    const { tap, got } = recordingTap();
    const { problems } = await run(dir, { tap });
    expect(problems.some((p) => p.volume === vol)).toBe(true);
    expect(
      problems.some(
        (p) => p.code === 'E_DIGEST_MISMATCH' && p.entry === splitEntry?.path && /join to/.test(p.message),
      ),
    ).toBe(false);
    expect([...got.values()].some((r) => r.state === 'failed')).toBe(true);
    expect(
      [...got.values()]
        .filter((r) => r.state === 'ended')
        .every((r) => sha256Hex(Buffer.concat(r.bytes)) === r.sha256),
    ).toBe(true);
  });

  it('an aborted read throws the abort and fails every open sink', async () => {
    const ac = new AbortController();
    const { tap: inner, got } = recordingTap();
    const tap: EntryTap = {
      async entry(volume, e) {
        const sink = await inner.entry(volume, e);
        if (sink === undefined) return undefined;
        return {
          ...sink,
          write: (c) => {
            ac.abort(new Error('interrupted'));
            return sink.write(c);
          },
        };
      },
    };
    await expect(run(split.dir, { tap, signal: ac.signal, concurrency: 1 })).rejects.toThrow('interrupted');
    expect(got.size).toBeGreaterThan(0);
    expect([...got.values()].every((r) => r.state !== 'open')).toBe(true);
  });

  it('an abort between two parts of a split entry fails that entry in the tap', async () => {
    const first = new Map(
      split.index.entries
        .filter((e) => (e.parts?.length ?? 0) > 1)
        .map((e) => [e.path, e.parts?.[0]?.size ?? 0]),
    );
    const ac = new AbortController();
    const { tap: inner, got } = recordingTap();
    const tap: EntryTap = {
      async entry(volume, e) {
        const sink = await inner.entry(volume, e);
        const firstPart = first.get(e.path);
        if (sink === undefined || firstPart === undefined) return sink;
        let n = 0;
        return {
          ...sink,
          write: (c) => {
            n += c.length;
            // The whole first part is in: stop before the second is read.
            if (n === firstPart) ac.abort(new Error('interrupted'));
            return sink.write(c);
          },
        };
      },
    };
    await expect(run(split.dir, { tap, signal: ac.signal, concurrency: 1 })).rejects.toThrow('interrupted');
    const touched = [...first.keys()].filter((p) => got.has(p));
    expect(touched.length).toBeGreaterThan(0);
    for (const p of touched) expect(got.get(p)?.state, p).toBe('failed');
  });
});
