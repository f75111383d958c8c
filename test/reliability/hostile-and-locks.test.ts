/**
 * Hostile media for unpack --to: a forged bundle.json (not re-sealed: SHA256SUMS
 * mismatch; re-sealed: the deeper checks) is refused and nothing reaches the registry.
 * Concurrency: a second pack into the same directory refuses with E_LOCKED naming the
 * pid; a stale lock left by a SIGKILLed pack is taken over; the same for unpack --to-dir.
 */
import type { ChildProcess } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reseal } from '../../fixtures/hostile/damage.js';
import { spawnBale } from '../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  collect,
  describeRun,
  exists,
  startProxiedDestination,
  startProxiedSource,
  suiteSeed,
  waitFor,
  type ProxiedDestination,
  type ProxiedSource,
} from './rig.js';

/** The pid in a lock file, or undefined while there is none. */
async function lockHolder(lockPath: string): Promise<{ pid: number } | undefined> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number });
}

/**
 * Waits until `child` holds the lock, then stops it with SIGSTOP: a stopped process is
 * alive (the lock is not stale) and cannot release the lock, so a second run started
 * afterwards meets a held lock however slowly it starts. No timing guess: the lock is
 * read again after the stop. The caller's SIGKILL ends the stopped process.
 */
async function pauseWhileHoldingLock(child: ChildProcess, lockPath: string, what: string): Promise<void> {
  await waitFor(
    async () => (await lockHolder(lockPath))?.pid === child.pid,
    30_000,
    `${what} to take its lock`,
  );
  child.kill('SIGSTOP');
  const holder = await lockHolder(lockPath);
  if (holder?.pid !== child.pid || child.exitCode !== null) {
    throw new Error(
      `${what} (pid ${child.pid}) no longer holds ${lockPath} after SIGSTOP: it finished too early`,
    );
  }
}

describe('hostile bundle.json and locks', () => {
  const seed = suiteSeed(60);
  let src: ProxiedSource;
  let dest: ProxiedDestination;
  let scratch: string;
  let bundleDir: string;

  beforeAll(async () => {
    announceSeed('hostile and locks', seed);
    src = await startProxiedSource({ seed, components: 2, incompressibleBytes: 1 << 20 });
    scratch = await makeTempDir('bale-rel-hostile-');
    dest = await startProxiedDestination(scratch);
    bundleDir = join(scratch, 'bundle');
    const r = await bale(src.packArgs(bundleDir));
    expect(r.code, describeRun(r)).toBe(0);
  });
  afterAll(async () => {
    await dest?.stop();
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  const unpackTo = (dir: string): string[] => [
    'unpack',
    dir,
    '--to',
    dest.to,
    '--registry-config',
    dest.authFile,
    '--keyring',
    src.fx.keyringPath,
    '--manifests-to-dir',
    join(scratch, 'manifests'),
  ];

  async function forged(
    name: string,
    edit: (index: Record<string, unknown>) => void,
    resealed: boolean,
  ): Promise<string> {
    const dir = join(scratch, name);
    await cp(bundleDir, dir, { recursive: true });
    const index = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as Record<string, unknown>;
    edit(index);
    const text = `${JSON.stringify(index, null, 2)}\n`;
    if (resealed) await reseal(dir, text);
    else await writeFile(join(dir, 'bundle.json'), text);
    return dir;
  }

  const swapDigest = (index: Record<string, unknown>): void => {
    const images = index.images as { digest: string }[];
    const img = images[1];
    if (!img) throw new Error('no image');
    img.digest = `sha256:${'0'.repeat(64)}`;
  };
  const swapEntry = (index: Record<string, unknown>): void => {
    // point the release tag at another manifest, as an attacker who re-sealed could
    const entries = index.entries as { path: string; sha256?: string; size: number }[];
    const blob = entries.find((e) => e.path.includes('/blobs/sha256:') && e.sha256 !== undefined);
    if (!blob) throw new Error('no blob entry');
    blob.sha256 = 'f'.repeat(64);
  };

  for (const [name, edit, resealed] of [
    ['forged-digest-unsealed', swapDigest, false],
    ['forged-digest-resealed', swapDigest, true],
    ['forged-entry-resealed', swapEntry, true],
  ] as const) {
    it(`unpack --to refuses a bundle.json ${name.replace(/-/g, ' ')} and pushes nothing`, async () => {
      const dir = await forged(name, edit, resealed);
      dest.proxy.log.length = 0;
      const r = await bale([...unpackTo(dir), '--json']);
      console.log(
        `[reliability] unpack of ${name}: exit ${r.code}; ${r.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/E_VERIFY_FAILED|E_BUNDLE_/);
      const writes = dest.proxy.log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD');
      expect(writes).toEqual([]);
    });
  }

  it('a second pack into the same directory refuses with E_LOCKED naming the pid; a SIGKILLed pack leaves a stale lock the re-run takes over', async () => {
    const to = join(scratch, 'locked');
    src.proxy.setPlan({
      rules: [
        { method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: 128 * 1024 } },
      ],
    });
    const first = spawnBale(src.packArgs(to));
    const firstDone = collect(first, 120_000);
    try {
      await pauseWhileHoldingLock(first, join(to, '.bale', '.bale.lock'), 'the first pack');
      const second = await bale([...src.packArgs(to), '--json']);
      console.log(
        `[reliability] second pack while the first (pid ${first.pid}) runs: exit ${second.code}; ${second.stderr.trim().split('\n')[0]}`,
      );
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('E_LOCKED');
      expect(second.stderr).toContain(String(first.pid));
    } finally {
      first.kill('SIGKILL');
      await firstDone;
    }
    expect(await exists(join(to, '.bale', '.bale.lock'))).toBe(true);
    src.proxy.setPlan({});
    const again = await bale(src.packArgs(to));
    expect(again.code, describeRun(again)).toBe(0);
  });

  /**
   * Regression: unpack took no lock, so two unpacks wrote and renamed the same files in
   * one --to-dir at once. It now locks the --to-dir as pack locks its bundle directory.
   */
  it('a second unpack into the same --to-dir while the first runs refuses with E_LOCKED', async () => {
    const toDir = join(scratch, 'to-dir-locked');
    const d = await startProxiedDestination(scratch, { name: 'lock-dest' });
    d.proxy.setPlan({
      rules: [
        {
          method: 'PATCH|PUT',
          path: /\/blobs\/uploads\//,
          fault: { kind: 'throttle', bytesPerSecond: 128 * 1024, on: 'request' },
        },
      ],
    });
    const args = (m: string): string[] => [
      'unpack',
      bundleDir,
      '--to',
      d.to,
      '--to-dir',
      toDir,
      '--registry-config',
      d.authFile,
      '--keyring',
      src.fx.keyringPath,
      '--manifests-to-dir',
      join(scratch, m),
    ];
    const first = spawnBale(args('m-first'));
    const firstDone = collect(first, 120_000);
    try {
      await waitFor(() => d.proxy.log.some((e) => e.requestBytes > 0), 30_000, 'the first unpack to push');
      // Frozen mid-push while holding the lock: however loaded the machine, the first
      // cannot finish (and release the lock) before the second one tries.
      await pauseWhileHoldingLock(first, join(toDir, '.bale.lock'), 'the first unpack');
      const second = await bale([
        'unpack',
        bundleDir,
        '--to-dir',
        toDir,
        '--keyring',
        src.fx.keyringPath,
        '--manifests-to-dir',
        join(scratch, 'm-second'),
      ]);
      console.log(
        `[reliability] second unpack --to-dir while the first runs: exit ${second.code}; ${second.stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
      );
      expect(second.stderr).toContain('E_LOCKED');
      expect(second.stderr).toContain(String(first.pid));
      expect(second.code).toBe(1);
      // The refused run left the first one's lock alone.
      expect((await lockHolder(join(toDir, '.bale.lock')))?.pid).toBe(first.pid);
    } finally {
      first.kill('SIGKILL');
      await firstDone;
      await d.stop();
    }
  });
});
