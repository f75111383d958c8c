/**
 * The --to directory of pack (src/workflows/pack/target.ts): what may be packed into,
 * the temporary files an interrupted run leaves, what a failed run cleans up, and a
 * finished bundle adopted only by a run that signs it the same way. Real directories.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkFinishedSigning,
  prepareTarget,
  removeIfUnused,
  removeTempFiles,
} from '../../../src/workflows/pack/target.js';
import { STATE_DIR } from '../../../src/workflows/pack/types.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

let tmp: string;
beforeEach(async () => {
  tmp = await makeTempDir('bale-pack-target-');
});
afterEach(async () => {
  await removeTempDir(tmp);
});

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('prepareTarget', () => {
  it('a new directory is made (created), an empty one is taken, an interrupted pack resumes', async () => {
    expect(await prepareTarget(join(tmp, 'new/deep'))).toEqual({ created: true, finished: false });
    expect(await exists(join(tmp, 'new/deep'))).toBe(true);
    await mkdir(join(tmp, 'empty'));
    expect(await prepareTarget(join(tmp, 'empty'))).toEqual({ created: false, finished: false });
    await mkdir(join(tmp, 'resume', STATE_DIR), { recursive: true });
    await writeFile(join(tmp, 'resume', 'volume-001.tar.zst.tmp'), 'x');
    expect(await prepareTarget(join(tmp, 'resume'))).toEqual({ created: false, finished: false });
  });

  it('a finished bundle is reported (the run then checks it against its plan)', async () => {
    const dir = join(tmp, 'done');
    await mkdir(dir);
    await writeFile(join(dir, 'bundle.json'), '{}');
    await writeFile(join(dir, 'SHA256SUMS'), '');
    expect(await prepareTarget(dir)).toEqual({ created: false, finished: true });
  });

  it('refuses other content with E_CONFIG naming the directory, and leaves it alone', async () => {
    const other = join(tmp, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    await expect(prepareTarget(other)).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: `${other} is not empty and holds no bale bundle`,
      hint: expect.stringContaining('empty or new directory'),
    });
    expect(await readdir(other)).toEqual(['notes.txt']);
    const half = join(tmp, 'half');
    await mkdir(half);
    await writeFile(join(half, 'bundle.json'), '{}');
    await expect(prepareTarget(half)).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: `${half} already holds a bundle that is not finished by bale`,
    });
  });

  it('a path under a file: E_IO naming it', async () => {
    await writeFile(join(tmp, 'file'), 'x');
    await expect(prepareTarget(join(tmp, 'file', 'sub'))).rejects.toMatchObject({ code: 'E_IO' });
  });
});

describe('removeTempFiles', () => {
  it('drops pack’s temporary files, keeps a volume being written unless asked, and nothing else', async () => {
    const names = [
      'bundle.json.tmp',
      'bundle.json.asc.tmp',
      'SHA256SUMS.tmp',
      'volume-001.tar.zst.tmp',
      'volume-0002.tar.zst.tmp',
      'volume-001.tar.zst',
      'bundle.json',
      'other.tmp',
      'volume-1.tar.zst.tmp',
    ];
    for (const n of names) await writeFile(join(tmp, n), 'x');
    await removeTempFiles(tmp);
    expect((await readdir(tmp)).sort()).toEqual(
      [
        'bundle.json',
        'other.tmp',
        'volume-001.tar.zst',
        'volume-001.tar.zst.tmp',
        'volume-0002.tar.zst.tmp',
        'volume-1.tar.zst.tmp',
      ].sort(),
    );
    await removeTempFiles(tmp, true);
    expect((await readdir(tmp)).sort()).toEqual([
      'bundle.json',
      'other.tmp',
      'volume-001.tar.zst',
      'volume-1.tar.zst.tmp',
    ]);
  });
});

describe('removeIfUnused', () => {
  it('removes empty state (and the directory pack made), keeps anything worth resuming', async () => {
    const to = join(tmp, 'made');
    const state = join(to, STATE_DIR);
    await mkdir(join(state, 'blobs'), { recursive: true });
    await removeIfUnused(to, state, true);
    expect(await exists(to)).toBe(false);

    const kept = join(tmp, 'kept');
    await mkdir(join(kept, STATE_DIR, 'blobs'), { recursive: true });
    await writeFile(join(kept, STATE_DIR, 'blobs', 'sha256-abc'), 'staged');
    await removeIfUnused(kept, join(kept, STATE_DIR), true);
    expect(await exists(join(kept, STATE_DIR, 'blobs', 'sha256-abc'))).toBe(true);

    const given = join(tmp, 'given');
    await mkdir(join(given, STATE_DIR, 'blobs'), { recursive: true });
    await removeIfUnused(given, join(given, STATE_DIR), false);
    expect(await readdir(given)).toEqual([]); // the user's directory stays
  });
});

describe('checkFinishedSigning', () => {
  it('a finished bundle is adopted only by a run that signs it the same way', async () => {
    await expect(checkFinishedSigning(tmp, false)).resolves.toBeUndefined();
    await expect(checkFinishedSigning(tmp, true)).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: `${tmp} already holds a finished bundle of other content (not signed)`,
    });
    await writeFile(join(tmp, 'bundle.json.asc'), 'sig');
    await expect(checkFinishedSigning(tmp, true)).resolves.toBeUndefined();
    await expect(checkFinishedSigning(tmp, false)).rejects.toMatchObject({
      message: `${tmp} already holds a finished bundle of other content (signed)`,
    });
  });
});
