/**
 * The free-space check: pack sums what it will write from the manifests and stops
 * before downloading content when the target is too small. The arithmetic is a pure
 * function (test/bundle/space-check.test.ts); end to end it runs against a real 1 MiB tmpfs when this
 * process may mount one (root), and in-process through the freeSpace option otherwise too.
 */
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { pack } from '../../../src/workflows/pack/index.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SEED = 97;

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
