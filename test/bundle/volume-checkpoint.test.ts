/**
 * pack's write-once resume at the writer level: with frameEnds, a zstd frame ends after
 * the chosen entries and onCheckpoint hears of each; a write that fails after a
 * checkpoint keeps `<path>.tmp`, and a write resumed from that checkpoint gives the same
 * bytes as one that was never interrupted. A prefix that is not what the checkpoint says
 * (shorter, altered) is written again from the start. Every volume still reads as one
 * stream (`zstd -dc | tar -t`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedEntry } from '../../src/bundle/plan.js';
import { writeVolume, type VolumeCheckpoint } from '../../src/bundle/volume-writer.js';
import { sha256Hex } from '../../src/digest.js';
import { noise } from '../../fixtures/hostile/valid-bundle.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-checkpoint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blobs = [noise(11, 200_000), Buffer.from('{"config":true}'), noise(12, 90_000), noise(13, 150_000)];
const entries: PlannedEntry[] = [
  ...blobs.map((b) => {
    const hex = sha256Hex(b);
    return { path: `v2/r/blobs/sha256:${hex}`, type: 'file' as const, size: b.length, sha256: hex };
  }),
  {
    path: 'v2/r/manifests/latest',
    type: 'symlink',
    size: 0,
    linkTarget: `sha256:${sha256Hex(blobs[1] as Buffer)}`,
  },
];
const dataOf = (e: PlannedEntry): Buffer =>
  blobs.find((b) => e.path.endsWith(sha256Hex(b))) ?? Buffer.alloc(0);
const open = (e: PlannedEntry): Readable => Readable.from([dataOf(e)]);
const frameEnds = (e: PlannedEntry) => e.type === 'file';
/** pack compresses on a zstd worker thread; the writer's default is the calling thread: both are checked. */
let zstdParams = { level: 1, nbWorkers: 0 };

function tarList(path: string): string[] {
  const r = spawnSync('sh', ['-c', `zstd -dc < '${path}' | tar -tf -`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

async function uninterrupted(name: string): Promise<{ bytes: Buffer; checkpoints: VolumeCheckpoint[] }> {
  const checkpoints: VolumeCheckpoint[] = [];
  const path = join(dir, `w${zstdParams.nbWorkers}-${name}`);
  await writeVolume(path, entries, open, {
    ...zstdParams,
    frameEnds,
    onCheckpoint: async (cp) => void checkpoints.push(cp),
  });
  return { bytes: await readFile(path), checkpoints };
}

/** Writes until entry `failAt` fails; returns the last checkpoint taken. */
async function interrupted(path: string, failAt: number): Promise<VolumeCheckpoint | undefined> {
  let last: VolumeCheckpoint | undefined;
  const failing = (e: PlannedEntry): Readable => {
    if (e === entries[failAt]) throw new Error('killed');
    return open(e);
  };
  await expect(
    writeVolume(path, entries, failing, {
      ...zstdParams,
      frameEnds,
      onCheckpoint: async (cp) => void (last = cp),
    }),
  ).rejects.toThrow('killed');
  return last;
}

describe.each([0, 1])('writeVolume checkpoints (zstd workers: %i)', (nbWorkers) => {
  beforeAll(() => {
    zstdParams = { level: 1, nbWorkers };
  });

  it('ends a frame after each chosen entry (never after the last) and reports where', async () => {
    const { bytes, checkpoints } = await uninterrupted('volume-001.tar.zst');
    expect(checkpoints.map((c) => c.entries)).toEqual([1, 2, 3, 4]);
    for (const cp of checkpoints) {
      expect(sha256Hex(bytes.subarray(0, cp.offset))).toBe(cp.sha256);
      // Every checkpoint is a frame boundary: the prefix alone is a complete zstd stream.
      const prefix = join(dir, `w${nbWorkers}-prefix-${cp.entries}.zst`);
      await writeFile(prefix, bytes.subarray(0, cp.offset));
      expect(spawnSync('zstd', ['-t', '-q', prefix]).status).toBe(0);
    }
    expect(tarList(join(dir, `w${nbWorkers}-volume-001.tar.zst`))).toEqual(entries.map((e) => e.path));
    // Deterministic: the same entries give the same bytes.
    expect((await uninterrupted('volume-002.tar.zst')).bytes.equals(bytes)).toBe(true);
  });

  it('a failed write keeps the journaled prefix; the resumed write equals an uninterrupted one', async () => {
    const { bytes } = await uninterrupted('volume-010.tar.zst');
    for (const failAt of [1, 2, 3]) {
      const path = join(dir, `w${nbWorkers}-volume-01${failAt}.tar.zst`);
      const cp = await interrupted(path, failAt);
      expect(cp?.entries).toBe(failAt);
      expect((await stat(`${path}.tmp`)).size).toBeGreaterThanOrEqual(cp?.offset ?? Infinity);
      const opened: string[] = [];
      const w = await writeVolume(
        path,
        entries,
        (e) => {
          opened.push(e.path);
          return open(e);
        },
        { ...zstdParams, frameEnds, resume: cp },
      );
      // Only what the checkpoint did not cover is read again.
      expect(opened).toEqual(
        entries
          .slice(failAt)
          .filter((e) => e.type === 'file')
          .map((e) => e.path),
      );
      expect((await readFile(path)).equals(bytes)).toBe(true);
      expect(w.entries.map((e) => e.path)).toEqual(entries.map((e) => e.path));
      expect(w.sha256).toBe(sha256Hex(bytes));
    }
  });

  it('a prefix shorter or other than the checkpoint says is written again from the start', async () => {
    const { bytes } = await uninterrupted('volume-020.tar.zst');
    for (const damage of ['short', 'altered'] as const) {
      const path = join(dir, `w${nbWorkers}-volume-02${damage === 'short' ? 1 : 2}.tar.zst`);
      const cp = await interrupted(path, 3);
      if (!cp) throw new Error('no checkpoint');
      if (damage === 'short') await truncate(`${path}.tmp`, cp.offset - 1);
      else {
        const tmp = await readFile(`${path}.tmp`);
        tmp[10] = (tmp[10] as number) ^ 0xff;
        await writeFile(`${path}.tmp`, tmp);
      }
      const opened: string[] = [];
      await writeVolume(
        path,
        entries,
        (e) => {
          opened.push(e.path);
          return open(e);
        },
        { ...zstdParams, frameEnds, resume: cp },
      );
      expect(opened.length).toBe(blobs.length);
      expect((await readFile(path)).equals(bytes)).toBe(true);
    }
  });

  it('without checkpoints a failed write leaves no temporary file', async () => {
    const path = join(dir, `w${nbWorkers}-volume-030.tar.zst`);
    await expect(
      writeVolume(
        path,
        entries,
        (e) => (e === entries[2] ? Readable.from([Buffer.from('short')]) : open(e)),
        {
          ...zstdParams,
        },
      ),
    ).rejects.toThrow(/expected/);
    await expect(stat(`${path}.tmp`)).rejects.toThrow();
  });
});
