/**
 * The free-space check: pack sums what it will write from the manifests and stops
 * before downloading content when the target is too small. The arithmetic is a pure
 * function (unit-tested); end to end it runs against a real 1 MiB tmpfs when this
 * process may mount one (root), and in-process through the freeSpace option otherwise too.
 */
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { assertSpace, spaceNeeded } from '../../../src/bundle/space-check.js';
import { pack } from '../../../src/workflows/pack/index.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SEED = 97;

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

describe('pack stops before downloading when the target is too small', () => {
  let s: FixtureSetup;
  let mnt = '';
  let mounted = false;

  beforeAll(async () => {
    console.log(`space: fixture seed ${SEED}`);
    s = await setupFixture({ seed: SEED });
    mnt = join(s.work, 'small-disk');
    await mkdir(mnt);
    mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).then(
      () => true,
      (err: Error) => {
        console.log(
          `space: cannot mount a tmpfs here (${err.message.split('\n')[0]}); the tmpfs test is skipped`,
        );
        return false;
      },
    );
  }, 60_000);
  afterAll(async () => {
    if (mounted) await run('umount', [mnt]).catch(() => undefined);
    await s?.stop();
  });

  it('on a 1 MiB tmpfs: exit 1 with E_NO_SPACE, no volume, no content blob staged', async (ctx) => {
    if (!mounted) ctx.skip();
    const to = join(mnt, 'bundle');
    const r = await runBale([...s.packArgs(), '--to', to]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`${to} has [\\d.]+ [KM]iB free; this pack needs up to [\\d.]+ MiB \\[E_NO_SPACE\\]`),
    );
    const names = await readdir(to);
    expect(names).toEqual(['.bale']);
    // Only the metadata read to plan (release config and payload, graph-data config and signature layer).
    expect((await readdir(join(to, '.bale', 'blobs'))).length).toBeLessThanOrEqual(4);
  });

  it('in-process, with a free-space probe that reports too little', async () => {
    const to = join(s.work, 'probe');
    const err = await pack({
      release: s.fx.release.ref,
      graphData: s.fx.graphData.ref,
      to,
      signatureStores: [`file://${s.fx.storeDir}`],
      keyrings: [s.fx.keyringPath],
      registryConfig: s.reg.authFile,
      env: {},
      homeDir: s.work,
      lockOwner: { pid: process.pid, hostname: hostname(), isAlive: () => false },
      freeSpace: () => Promise.resolve(512 * 1024),
    }).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_NO_SPACE')).toBe(true);
    expect((err as { details: { needed: number } }).details.needed).toBeGreaterThan(2 * MiB);
    expect((await readdir(to)).filter((n) => n.startsWith('volume-'))).toEqual([]);
  });
});
