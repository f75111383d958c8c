/** Whatever sits at a small file's name on hostile media, the read returns or throws at once. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSmallRegularFile } from '../../src/bundle/small-file.js';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-small-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readSmallRegularFile', () => {
  it('reads a regular file up to exactly max bytes', async () => {
    await writeFile(join(dir, 'ok'), 'x'.repeat(100));
    expect((await readSmallRegularFile(join(dir, 'ok'), 100, 'ok')).toString()).toBe('x'.repeat(100));
    await writeFile(join(dir, 'empty'), '');
    expect((await readSmallRegularFile(join(dir, 'empty'), 100, 'empty')).length).toBe(0);
  });

  it('one byte over max is E_BUNDLE_INVALID naming the file and its size', async () => {
    await writeFile(join(dir, 'big'), 'x'.repeat(101));
    await expect(readSmallRegularFile(join(dir, 'big'), 100, 'bundle.json')).rejects.toMatchObject({
      code: 'E_BUNDLE_INVALID',
      message: 'bundle.json is 101 bytes, more than the 100 bale reads',
      details: { file: 'bundle.json' },
    });
  });

  it('a FIFO nobody writes to and a directory are "not a regular file", at once', async () => {
    await run('mkfifo', [join(dir, 'fifo')]);
    await mkdir(join(dir, 'folder'));
    for (const name of ['fifo', 'folder']) {
      const started = Date.now();
      await expect(readSmallRegularFile(join(dir, name), 100, name)).rejects.toMatchObject({
        code: 'E_BUNDLE_INVALID',
        message: `${name} is not a regular file`,
      });
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('never follows a symlink (to /dev/zero or to a real file)', async () => {
    await symlink('/dev/zero', join(dir, 'zero'));
    await symlink(join(dir, 'ok'), join(dir, 'link-to-ok'));
    for (const name of ['zero', 'link-to-ok']) {
      await expect(readSmallRegularFile(join(dir, name), 100, name)).rejects.toMatchObject({ code: 'ELOOP' });
    }
  });

  it('a missing file is the plain ENOENT its callers turn into their own error', async () => {
    await expect(readSmallRegularFile(join(dir, 'nothing'), 100, 'nothing')).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
