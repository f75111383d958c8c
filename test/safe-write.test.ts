/**
 * The state directory (`.bale/` inside a bundle being packed) is created one component at
 * a time: a symlink or a file planted at `.bale` or `.bale/blobs` is refused, not followed.
 */
import { mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSafeSubdir } from '../src/safe-write.js';
import { makeTempDir, removeTempDir } from './helpers/tmp.js';

describe('makeSafeSubdir (the state directory)', () => {
  let work: string;
  beforeAll(async () => {
    work = await makeTempDir('bale-safe-write-');
  });
  afterAll(async () => {
    if (work) await removeTempDir(work);
  });

  it('creates the state directory and is idempotent', async () => {
    const root = join(work, 'fresh');
    expect(await makeSafeSubdir(root, '.bale', 'blobs')).toBe(join(root, '.bale', 'blobs'));
    expect(await makeSafeSubdir(root, '.bale', 'blobs')).toBe(join(root, '.bale', 'blobs'));
    expect(await readdir(join(root, '.bale'))).toEqual(['blobs']);
  });

  it('refuses a symlink planted at .bale, leaving it and its target alone', async () => {
    const root = join(work, 'planted-state');
    const outside = join(work, 'outside-state');
    await mkdir(root);
    await mkdir(outside);
    await symlink(outside, join(root, '.bale'));
    await expect(makeSafeSubdir(root, '.bale', 'blobs')).rejects.toMatchObject({
      code: 'E_BUNDLE_HOSTILE',
      message: expect.stringContaining(`${join(root, '.bale')} is a symbolic link`),
    });
    expect(await readdir(outside)).toEqual([]);
    expect(await readlink(join(root, '.bale'))).toBe(outside);
  });

  it('refuses a symlink planted at .bale/blobs and a file planted at .bale', async () => {
    const root = join(work, 'planted-blobs');
    const outside = join(work, 'outside-blobs');
    await mkdir(join(root, '.bale'), { recursive: true });
    await mkdir(outside);
    await symlink(outside, join(root, '.bale', 'blobs'));
    await expect(makeSafeSubdir(root, '.bale', 'blobs')).rejects.toMatchObject({ code: 'E_BUNDLE_HOSTILE' });
    expect(await readdir(outside)).toEqual([]);

    const root2 = join(work, 'planted-file');
    await mkdir(root2);
    await writeFile(join(root2, '.bale'), 'x');
    await expect(makeSafeSubdir(root2, '.bale', 'blobs')).rejects.toMatchObject({
      code: 'E_BUNDLE_HOSTILE',
      message: expect.stringContaining('not a directory'),
    });
  });
});
