import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { LOCK_FILE, acquireLock } from '../../src/bundle/lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const alive = new Set([100, 200]);
const owner = (pid: number, hostname = 'host-a') => ({ pid, hostname, isAlive: (p: number) => alive.has(p) });

test('a second holder is refused with E_LOCKED naming the pid', async () => {
  const lock = await acquireLock(dir, owner(100));
  await expect(acquireLock(dir, owner(200))).rejects.toMatchObject({
    code: 'E_LOCKED',
    message: expect.stringContaining('process 100'),
    details: { pid: 100 },
  });
  await lock.release();
  const again = await acquireLock(dir, owner(200));
  await again.release();
  expect(await readdir(dir)).toEqual([]);
});

test('a stale lock from a dead process is taken over', async () => {
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 999, hostname: 'host-a', nonce: 'old' }));
  const lock = await acquireLock(dir, owner(100));
  await expect(acquireLock(dir, owner(200))).rejects.toMatchObject({ code: 'E_LOCKED' });
  await lock.release();
  expect(await readdir(dir)).toEqual([]);
});

test('a lock from another host is not taken over', async () => {
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 999, hostname: 'host-b', nonce: 'old' }));
  await expect(acquireLock(dir, owner(100))).rejects.toMatchObject({
    code: 'E_LOCKED',
    details: { hostname: 'host-b' },
  });
});

test('release does not remove a lock someone else holds', async () => {
  const lock = await acquireLock(dir, owner(100));
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 200, hostname: 'host-a', nonce: 'theirs' }));
  await lock.release();
  expect(await readdir(dir)).toEqual([LOCK_FILE]);
});

test('concurrent acquirers: exactly one wins', async () => {
  const results = await Promise.allSettled([100, 200, 100, 200].map((pid) => acquireLock(dir, owner(pid))));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
});

test('a symlink planted at the lock file is refused, not followed, read or replaced', async () => {
  const victim = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-victim.json`);
  await writeFile(victim, JSON.stringify({ pid: 999, hostname: 'host-a', nonce: 'stale-looking' }));
  try {
    await symlink(victim, join(dir, LOCK_FILE));
    await expect(acquireLock(dir, owner(100))).rejects.toMatchObject({
      code: 'E_BUNDLE_HOSTILE',
      message: expect.stringContaining(`${join(dir, LOCK_FILE)} is a symbolic link`),
    });
    // The link is still there, still pointing at the untouched victim; no temp file left.
    expect(await readlink(join(dir, LOCK_FILE))).toBe(victim);
    expect(JSON.parse(await readFile(victim, 'utf8'))).toMatchObject({ nonce: 'stale-looking' });
    expect(await readdir(dir)).toEqual([LOCK_FILE]);
  } finally {
    await rm(victim, { force: true });
  }
});

test('a FIFO planted at the lock file is refused without blocking', async () => {
  execFileSync('mkfifo', [join(dir, LOCK_FILE)]);
  await expect(acquireLock(dir, owner(100))).rejects.toMatchObject({
    code: 'E_BUNDLE_HOSTILE',
    message: expect.stringContaining('not a regular file'),
  });
});
