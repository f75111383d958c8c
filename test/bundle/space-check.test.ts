/**
 * What a pack needs on its target, from sizes alone, and the free space the system
 * reports (real files in a temp directory). The end-to-end check (pack stops before
 * downloading on a full target) is test/workflows/pack/space.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSpace, bytesOnDisk, freeSpace, spaceNeeded } from '../../src/bundle/space-check.js';
import { isBaleError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('spaceNeeded / assertSpace', () => {
  it('counts every volume still to write plus at most one volume and the window of staged blobs', () => {
    expect(
      spaceNeeded({
        volumeBounds: [100, 300, 200],
        blobSizes: [50, 50, 5000],
        stagedBytes: 0,
        windowBytes: 1000,
      }),
    ).toEqual({ volumes: 600, staging: 1300, needed: 1900 });
    // Staging never exceeds the blobs still needed...
    expect(
      spaceNeeded({ volumeBounds: [100], blobSizes: [40, 30], stagedBytes: 0, windowBytes: 1000 }),
    ).toEqual({
      volumes: 100,
      staging: 70,
      needed: 170,
    });
    // ...and what an interrupted run already staged is on disk already.
    expect(
      spaceNeeded({ volumeBounds: [100], blobSizes: [40, 30], stagedBytes: 50, windowBytes: 1000 }).staging,
    ).toBe(20);
    expect(spaceNeeded({ volumeBounds: [], blobSizes: [], stagedBytes: 99, windowBytes: 1000 })).toEqual({
      volumes: 0,
      staging: 0,
      needed: 0,
    });
  });

  it('throws E_NO_SPACE naming the directory, what is free and what is needed', () => {
    const need = spaceNeeded({
      volumeBounds: [3 * MiB],
      blobSizes: [3 * MiB],
      stagedBytes: 0,
      windowBytes: MiB,
    });
    expect(() => assertSpace('/media/usb', need.needed, need)).not.toThrow();
    let caught: unknown;
    try {
      assertSpace('/media/usb', need.needed - 1, need);
    } catch (err) {
      caught = err;
    }
    expect(isBaleError(caught, 'E_NO_SPACE')).toBe(true);
    expect((caught as Error).message).toBe('/media/usb has 6.0 MiB free; this pack needs up to 6.0 MiB');
  });
});

describe('assertSpace details and hint', () => {
  it('says how the need splits into volumes and staging, in units a person reads', () => {
    const need = { volumes: 3 * 1024 ** 3, staging: 512 * 1024, needed: 3 * 1024 ** 3 + 512 * 1024 };
    let caught: unknown;
    try {
      assertSpace('/media/usb', 1000, need);
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toBe('/media/usb has 1.0 KiB free; this pack needs up to 3.00 GiB');
    expect((caught as { hint?: string }).hint).toMatch(
      /^That is 3\.00 GiB of volumes plus 512\.0 KiB of staged downloads\./,
    );
    expect((caught as { details?: unknown }).details).toEqual({
      path: '/media/usb',
      available: 1000,
      ...need,
    });
  });
});

describe('freeSpace / bytesOnDisk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('bale-space-');
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('reports the free bytes of a real directory, and undefined where the system cannot say', async () => {
    const free = await freeSpace(dir);
    expect(free).toBeGreaterThan(0);
    expect(Number.isSafeInteger(free)).toBe(true);
    expect(await freeSpace(join(dir, 'does-not-exist'))).toBeUndefined();
  });

  it('sums regular files only; missing paths and directories count 0', async () => {
    await writeFile(join(dir, 'a'), Buffer.alloc(1000));
    await writeFile(join(dir, 'b'), Buffer.alloc(24));
    await mkdir(join(dir, 'sub'));
    expect(await bytesOnDisk([join(dir, 'a'), join(dir, 'b'), join(dir, 'sub'), join(dir, 'missing')])).toBe(
      1024,
    );
    expect(await bytesOnDisk([])).toBe(0);
  });
});
