/**
 * Ctrl-C: SIGINT and SIGTERM during pack and unpack. The process exits within ~2 s with
 * 130 / 143, says on stderr what happened and how to resume, and the same command run
 * again resumes and finishes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBale } from '../helpers/bale.js';
import type { FaultPlan } from '../helpers/fault-proxy.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  bundleImages,
  collect,
  describeRun,
  exists,
  skopeoCheckMirror,
  sleep,
  startProxiedDestination,
  startProxiedSource,
  suiteSeed,
  waitFor,
  type ProxiedSource,
} from './rig.js';

/** Starts `args`, waits until `ready()` (work under way), sends `signal`; returns the run and the ms from signal to exit. */
async function interrupt(
  args: string[],
  signal: 'SIGINT' | 'SIGTERM',
  ready: () => boolean | Promise<boolean>,
): Promise<{ code: number | null; stderr: string; stdout: string; exitMs: number }> {
  const child = spawnBale(args);
  const done = collect(child, 60_000);
  try {
    await waitFor(ready, 30_000, 'work to be under way');
  } catch (err) {
    child.kill('SIGKILL');
    await done;
    throw err;
  }
  await sleep(300);
  const sent = Date.now();
  child.kill(signal);
  const r = await done;
  return { code: r.code, stderr: r.stderr, stdout: r.stdout, exitMs: Date.now() - sent };
}

describe('SIGINT / SIGTERM', () => {
  const seed = suiteSeed(20);
  let src: ProxiedSource;
  let scratch: string;

  beforeAll(async () => {
    announceSeed('interrupt', seed);
    src = await startProxiedSource({ seed, components: 2, incompressibleBytes: 1 << 20 });
    scratch = await makeTempDir('bale-rel-int-');
  });
  afterAll(async () => {
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  // Slow blob downloads so there is always something in flight.
  const throttledDownloads: FaultPlan = {
    rules: [
      { method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: 128 * 1024 } },
    ],
  };
  const blobGetsUnderWay = (): boolean =>
    src.proxy.log.some(
      (e) => e.method === 'GET' && /\/blobs\/sha256:/.test(e.path) && e.bytes > 0 && !e.done,
    );

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`pack: ${signal} exits ${code} within 2 s, says how to resume; the re-run resumes`, async () => {
      const to = join(scratch, `bundle-${signal}`);
      src.proxy.setPlan(throttledDownloads);
      src.proxy.log.length = 0;
      const r = await interrupt(src.packArgs(to), signal, blobGetsUnderWay);
      console.log(
        `[reliability] pack ${signal}: exit ${r.code} ${r.exitMs} ms after the signal; stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
      expect(await exists(join(to, 'bundle.json'))).toBe(false);
      src.proxy.setPlan({});
      const again = await bale([...src.packArgs(to), '--json']);
      expect(again.code, describeRun(again)).toBe(0);
      const out = JSON.parse(again.stdout) as { stats: { blobsReused: number; bytesResumed: number } };
      console.log(
        `[reliability] pack re-run after ${signal}: reused ${out.stats.blobsReused} blobs, resumed ${out.stats.bytesResumed} bytes`,
      );
      expect(out.stats.blobsReused + out.stats.bytesResumed).toBeGreaterThan(0);
      // what the user sees
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(`${signal} received`);
      expect(r.stderr).toContain('E_INTERRUPTED');
      expect(r.stderr).toMatch(/run the same command again/i);
      expect(r.exitMs).toBeLessThan(2000);
    });
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`unpack --to: ${signal} exits ${code} within 2 s, says how to resume; the re-run finishes`, async () => {
      const ref = join(scratch, 'bundle-SIGINT');
      expect(await exists(join(ref, 'bundle.json'))).toBe(true);
      const d = await startProxiedDestination(scratch, { name: `dest-${signal}` });
      try {
        d.proxy.setPlan({
          rules: [
            {
              method: 'PATCH|PUT',
              path: /\/blobs\/uploads\//,
              fault: { kind: 'throttle', bytesPerSecond: 128 * 1024, on: 'request' },
            },
          ],
        });
        const args = [
          'unpack',
          ref,
          '--to',
          d.to,
          '--registry-config',
          d.authFile,
          '--keyring',
          src.fx.keyringPath,
          '--manifests-to-dir',
          join(scratch, `manifests-${signal}`),
        ];
        const uploadsUnderWay = (): boolean =>
          d.proxy.log.some((e) => /\/blobs\/uploads\//.test(e.path) && e.requestBytes > 0 && !e.done);
        const r = await interrupt(args, signal, uploadsUnderWay);
        console.log(
          `[reliability] unpack ${signal}: exit ${r.code} ${r.exitMs} ms after the signal; stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
        d.proxy.setPlan({});
        const again = await bale([...args, '--json']);
        expect(again.code, describeRun(again)).toBe(0);
        const out = JSON.parse(again.stdout) as { push: { blobsPresent: number } };
        console.log(
          `[reliability] unpack re-run after ${signal}: ${out.push.blobsPresent} blobs already present`,
        );
        expect(
          await skopeoCheckMirror(
            d.reg,
            'mirror',
            await bundleImages(ref),
            join(scratch, `skopeo-${signal}`),
          ),
        ).toEqual([]);
        expect(r.code).toBe(code);
        expect(r.stderr).toContain(`${signal} received`);
        expect(r.stderr).toContain('E_INTERRUPTED');
        expect(r.stderr).toMatch(/run the same command again/i);
        expect(r.exitMs).toBeLessThan(2000);
      } finally {
        await d.stop();
      }
    });
  }
});
