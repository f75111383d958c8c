import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_VOLUME_SIZE, assembleEntries, planVolumes, type PlanInput } from '../../src/bundle/plan.js';
import { writeVolume } from '../../src/bundle/volume-writer.js';
import { sha256Hex } from '../../src/digest.js';
import { isBaleError } from '../../src/errors.js';
import { noise } from '../../fixtures/hostile/valid-bundle.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-plan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blob = (data: Buffer): PlanInput => {
  const hex = sha256Hex(data);
  return { path: `v2/a/b/blobs/sha256:${hex}`, type: 'file', size: data.length, sha256: hex };
};

test('the default volume size fits FAT32', () => {
  expect(DEFAULT_VOLUME_SIZE).toBeLessThan(4 * 1024 ** 3 - 1);
});

describe('planVolumes', () => {
  test('is deterministic and fills volumes in order', () => {
    const inputs = [1, 2, 3, 4, 5].map((i) => blob(noise(i, 10_000)));
    const a = planVolumes(inputs, { volumeSize: 32 * 1024 });
    const b = planVolumes(inputs, { volumeSize: 32 * 1024 });
    expect(a).toEqual(b);
    expect(a.volumes.map((v) => v.entries.length)).toEqual([2, 2, 1]);
    expect(a.volumes.map((v) => v.name)).toEqual([
      'volume-001.tar.zst',
      'volume-002.tar.zst',
      'volume-003.tar.zst',
    ]);
  });

  test('keeps a group in one volume', () => {
    const big = blob(noise(1, 20_000));
    const m = blob(Buffer.from('{"manifest":1}'));
    const group = [
      { ...m, group: 'g' },
      {
        path: m.path.replace('/blobs/', '/manifests/'),
        type: 'hardlink' as const,
        size: 0,
        linkTarget: m.path,
        group: 'g',
      },
      {
        path: 'v2/a/b/manifests/latest',
        type: 'symlink' as const,
        size: 0,
        linkTarget: `sha256:${m.sha256}`,
        group: 'g',
      },
    ];
    // Room for the big blob plus one more small entry, but not for all three of the group.
    const plan = planVolumes([big, ...group], { volumeSize: 28 * 1024 });
    const where = plan.volumes.map((v) => v.entries.map((e) => e.path));
    const holder = where.find((paths) => paths.includes(m.path));
    expect(holder).toEqual(group.map((g) => g.path));
  });

  test('refuses a group larger than a volume', () => {
    const big = { ...blob(noise(1, 40_000)), group: 'g' };
    const link = {
      path: 'v2/a/b/manifests/latest',
      type: 'symlink' as const,
      size: 0,
      linkTarget: `sha256:${big.sha256}`,
      group: 'g',
    };
    let err: unknown;
    try {
      planVolumes([big, link], { volumeSize: 32 * 1024 });
    } catch (e) {
      err = e;
    }
    expect(isBaleError(err, 'E_USAGE')).toBe(true);
  });

  test('splits an entry larger than a volume into consecutive parts', () => {
    const data = noise(9, 100_000);
    const plan = planVolumes([blob(Buffer.from('x')), blob(data)], { volumeSize: 32 * 1024 });
    const parts = plan.volumes.flatMap((v, vi) => v.entries.filter((e) => e.part).map((e) => ({ vi, e })));
    expect(parts.length).toBeGreaterThanOrEqual(4);
    let offset = 0;
    parts.forEach(({ vi, e }, i) => {
      expect(e.path).toBe(`${blob(data).path}.part-${String(i + 1).padStart(3, '0')}`);
      expect(e.part?.offset).toBe(offset);
      if (i > 0) expect(vi).toBe((parts[i - 1]?.vi ?? 0) + 1);
      offset += e.size;
    });
    expect(offset).toBe(data.length);
  });

  test('never writes a volume over volumeSize, even with incompressible data and parts', async () => {
    const volumeSize = 24 * 1024;
    const contents = new Map<string, Buffer>();
    const inputs: PlanInput[] = [];
    for (const [i, size] of [700, 5000, 23_000, 60_000, 1, 9000, 512, 513].entries()) {
      const data = noise(100 + i, size);
      const input = blob(data);
      contents.set(input.path, data);
      inputs.push(input);
    }
    // A long name, which needs a pax header.
    const long = `config/${'n'.repeat(150)}.yaml`;
    contents.set(long, noise(7, 3000));
    inputs.push({ path: long, type: 'file', size: 3000 });
    const plan = planVolumes(inputs, { volumeSize });
    const written = [];
    for (const vol of plan.volumes) {
      const w = await writeVolume(
        join(dir, vol.name),
        vol.entries,
        (e) => {
          const whole = contents.get(e.part?.of ?? e.path) ?? Buffer.alloc(0);
          return Readable.from([e.part ? whole.subarray(e.part.offset, e.part.offset + e.size) : whole]);
        },
        { level: 1 },
      );
      expect(w.size).toBeLessThanOrEqual(volumeSize);
      expect(w.size).toBeLessThanOrEqual(vol.bound);
      expect((await stat(join(dir, vol.name))).size).toBe(w.size);
      written.push(w);
    }
    const entries = assembleEntries(plan, written);
    const split = entries.filter((e) => e.parts);
    expect(split.map((e) => e.size)).toEqual([23_000, 60_000]);
    for (const e of split) expect(e.parts?.reduce((n, p) => n + p.size, 0)).toBe(e.size);
    expect(entries.map((e) => e.path)).toEqual(inputs.map((i) => i.path));
  });
});
