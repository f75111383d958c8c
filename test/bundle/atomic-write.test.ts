/** writeFileAtomic on real files: the new content appears whole under its name, by rename. */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/bundle/atomic-write.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-atomic-write-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('writeFileAtomic', () => {
  it('writes text and bytes, leaving no temporary file behind', async () => {
    await writeFileAtomic(join(dir, 'a.json'), '{"a":1}\n');
    await writeFileAtomic(join(dir, 'b.bin'), new Uint8Array([0, 1, 2, 255]));
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}\n');
    expect([...(await readFile(join(dir, 'b.bin')))]).toEqual([0, 1, 2, 255]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces an existing file by rename: a reader holding the old inode never sees a mix', async () => {
    const path = join(dir, 'replace');
    await writeFile(path, 'old content');
    const before = await stat(path);
    await writeFileAtomic(path, 'new');
    const after = await stat(path);
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(after.ino).not.toBe(before.ino);
  });

  it('overwrites a stale temporary file left by a crash', async () => {
    const path = join(dir, 'stale');
    await writeFile(`${path}.tmp`, 'half-written garbage that is longer');
    await writeFileAtomic(path, 'ok');
    expect(await readFile(path, 'utf8')).toBe('ok');
    expect((await readdir(dir)).includes('stale.tmp')).toBe(false);
  });

  it('fails without touching the target when the directory is missing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x'), 'x')).rejects.toThrow(/ENOENT/);
  });

  it('fails when the target is a directory, leaving it in place', async () => {
    const path = join(dir, 'is-a-dir');
    await mkdir(path);
    await expect(writeFileAtomic(path, 'x')).rejects.toThrow();
    expect((await stat(path)).isDirectory()).toBe(true);
  });
});
