/**
 * Hostile media for unpack --to: a forged bundle.json (not re-sealed: SHA256SUMS
 * mismatch; re-sealed: the deeper checks) is refused and nothing reaches the registry.
 * Concurrency: a second pack into the same directory refuses with E_LOCKED naming the
 * pid; a stale lock left by a SIGKILLed pack is taken over; the same for unpack --to-dir.
 */
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
      await waitFor(() => exists(join(to, '.bale', '.bale.lock')), 30_000, 'the first pack to take its lock');
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
      expect(second.code).toBe(1);
    } finally {
      first.kill('SIGKILL');
      await firstDone;
      await d.stop();
    }
  });
});
