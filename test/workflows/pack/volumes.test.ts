/**
 * Small volumes and determinism, against a token-auth registry: --volume-size splits
 * the bundle into several volumes (none larger than the size, the large blob in parts
 * recorded in the index, each volume extractable alone), and two packs of the same
 * fixture give byte-identical volumes whatever the concurrency.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import {
  expectFinishedBundle,
  expectSameIndex,
  expectSameVolumes,
  extractAlone,
  fileSha256,
  listVolume,
  readIndex,
  sh,
  volumeNames,
} from './helpers.js';

const SEED = 53;
const MiB = 1024 * 1024;
const LARGE = 3 * MiB;

describe('bale pack --volume-size, determinism (token-auth source registry)', () => {
  let s: FixtureSetup;
  let one: string;
  let eight: string;

  beforeAll(async () => {
    console.log(`volumes: fixture seed ${SEED}`);
    // Built once: the fixture's signatures are salted, so two builds differ.
    s = await setupFixture({ auth: 'token', seed: SEED, largeBlobBytes: LARGE });
    one = join(s.work, 'c1');
    eight = join(s.work, 'c8');
    const r1 = await runBale([
      ...s.packArgs(),
      '--to',
      one,
      '--volume-size',
      '1MiB',
      '--concurrency',
      '1',
      '--quiet',
    ]);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const r8 = await runBale([
      ...s.packArgs(),
      '--to',
      eight,
      '--volume-size',
      '1MiB',
      '--concurrency',
      '8',
      '--quiet',
    ]);
    expect(r8.code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('writes several volumes, none larger than --volume-size, each extractable alone', async () => {
    await expectFinishedBundle(one);
    const volumes = await volumeNames(one);
    expect(volumes.length).toBeGreaterThanOrEqual(4);
    const index = await readIndex(one);
    expect(index.volumeSize).toBe(MiB);
    for (const v of volumes) {
      expect((await stat(join(one, v))).size).toBeLessThanOrEqual(MiB);
      await extractAlone(join(one, v), join(s.work, 'alone', v));
    }
  });

  it('splits the large blob into parts recorded in the index; the parts add up to the blob', async () => {
    const large = s.fx.largeBlob;
    expect(large?.size).toBe(LARGE);
    const index = await readIndex(one);
    const path = `v2/openshift/release/blobs/${large?.digest ?? ''}`;
    const entry = index.entries.find((e) => e.path === path);
    expect(entry?.volume).toBeUndefined();
    const parts = entry?.parts ?? [];
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(parts.map((p) => p.volume)).size).toBe(parts.length);
    let offset = 0;
    const files: string[] = [];
    for (const [i, p] of parts.entries()) {
      expect(p.path).toBe(`${path}.part-${String(i + 1).padStart(3, '0')}`);
      expect(p.offset).toBe(offset);
      offset += p.size;
      const dir = join(s.work, 'parts', p.volume);
      await extractAlone(join(one, p.volume), dir);
      expect(await listVolume(join(one, p.volume))).toContain(p.path);
      expect(await fileSha256(join(dir, p.path))).toBe(p.sha256);
      files.push(join(dir, p.path));
    }
    expect(offset).toBe(LARGE);
    const whole = join(s.work, 'whole-blob');
    await sh('sh', ['-c', 'cat "$@" > "$0"', whole, ...files]);
    expect(`sha256:${await fileSha256(whole)}`).toBe(large?.digest);
    expect(entry?.sha256).toBe(large?.digest.slice(7));
  });

  it('bale verify passes on the multi-volume bundle', async () => {
    const r = await runBale(['verify', one, '--keyring', s.fx.keyringPath]);
    expect(r.stdout).toMatch(/^OK: /);
    expect(r.code).toBe(0);
  });

  it('--concurrency 1 and 8 give byte-identical volumes and the same index', async () => {
    await expectFinishedBundle(eight);
    await expectSameVolumes(one, eight);
    await expectSameIndex(one, eight);
    const sums = async (d: string) =>
      (await readFile(join(d, 'SHA256SUMS'), 'utf8')).split('\n').filter((l) => !l.endsWith('  bundle.json'));
    expect(await sums(eight)).toEqual(await sums(one)); // only bundle.json (its created time) differs
  });

  it('the default volume size gives identical single volumes on two runs', async () => {
    const a = join(s.work, 'default-a');
    const b = join(s.work, 'default-b');
    expect((await runBale([...s.packArgs(), '--to', a, '--quiet'])).code).toBe(0);
    expect((await runBale([...s.packArgs(), '--to', b, '--quiet', '--concurrency', '3'])).code).toBe(0);
    expect(await volumeNames(a)).toEqual(['volume-001.tar.zst']);
    await expectSameVolumes(a, b);
    await expectSameIndex(a, b);
  });
});
