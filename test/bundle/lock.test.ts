import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
