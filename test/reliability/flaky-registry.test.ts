/**
 * Flaky registries: pack and unpack through a fault proxy that answers 10-20 % of
 * requests 503, some 429 with Retry-After, cuts a quarter of blob downloads midway and
 * stalls some. Both finish, every digest is intact (skopeo), and the --json summaries
 * count the retries. A registry that stays down fails within a bounded time with a clear
 * message, and the same command resumes once it is back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  blobBytesFetched,
  bundleImages,
  countFaults,
  describeRun,
  exists,
  flakyPlan,
  mirrorFingerprint,
  parseJson,
  skopeoCheckMirror,
  startProxiedDestination,
  startProxiedSource,
  suiteSeed,
  uploadBytesSent,
  type ProxiedDestination,
  type ProxiedSource,
} from './rig.js';

interface PackJson {
  ok: boolean;
  stats: {
    retries: number;
    requests: number;
    bytesDownloaded: number;
    bytesResumed: number;
    blobsDownloaded: number;
  };
  contentBytes: number;
}
interface UnpackJson {
  ok: boolean;
  push: { retries: number; blobsUploaded: number; bytesUploaded: number; manifestsPushed: number };
}

describe('flaky registries', () => {
  const seed = suiteSeed(1);
  let src: ProxiedSource;
  let dest: ProxiedDestination;
  let scratch: string;
  let bundleDir: string;

  beforeAll(async () => {
    announceSeed('flaky registries', seed);
    src = await startProxiedSource({
      seed,
      components: 5,
      incompressibleBytes: 3 << 20,
      largeBlobBytes: 1 << 20,
    });
    scratch = await makeTempDir('bale-rel-flaky-');
    dest = await startProxiedDestination(scratch);
    bundleDir = join(scratch, 'bundle');
  });
  afterAll(async () => {
    await dest?.stop();
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  it('pack through 503/429/reset/stall faults finishes, verifies, and counts its retries', async () => {
    src.proxy.setPlan(flakyPlan(seed));
    src.proxy.log.length = 0;
    const run = await bale([...src.packArgs(bundleDir, ['--volume-size', '2MiB']), '--json']);
    expect(run.code, describeRun(run)).toBe(0);
    const out = parseJson<PackJson>(run);
    const faults = countFaults(src.proxy.log);
    const resets = src.proxy.log.filter((e) => e.fault === 'reset-blob');
    const ranged = src.proxy.log.filter((e) => e.range !== undefined);
    console.log(
      `[reliability] pack under faults: ${faults.requests} requests, ${faults.injected} faults injected ${JSON.stringify(faults.byFault)}, ` +
        `${ranged.length} Range resumes, stats.retries=${out.stats.retries}, bytesResumed=${out.stats.bytesResumed}, ` +
        `blob bytes fetched ${blobBytesFetched(src.proxy.log)} for ${out.stats.bytesDownloaded} downloaded, ${run.ms} ms`,
    );
    expect(faults.injected / faults.requests).toBeGreaterThan(0.1);
    expect(faults.byFault['503']).toBeGreaterThan(0);
    expect(faults.byFault['429']).toBeGreaterThan(0);
    expect(resets.length).toBeGreaterThan(0);
    expect(out.stats.retries).toBeGreaterThan(0);
    // A reset blob download continues where it stopped (Range), it does not start over.
    expect(ranged.length).toBeGreaterThan(0);

    const verify = await bale(['verify', bundleDir, '--keyring', src.fx.keyringPath]);
    expect(verify.code, describeRun(verify)).toBe(0);
  });

  it('unpack --to through the same faults (uploads cut too) pushes every digest intact and counts its retries', async () => {
    expect(await exists(join(bundleDir, 'bundle.json'))).toBe(true);
    dest.proxy.setPlan(flakyPlan(seed + 1, { uploads: true }));
    dest.proxy.log.length = 0;
    const run = await bale([
      'unpack',
      bundleDir,
      '--to',
      dest.to,
      '--registry-config',
      dest.authFile,
      '--keyring',
      src.fx.keyringPath,
      '--manifests-to-dir',
      join(scratch, 'manifests'),
      '--json',
    ]);
    expect(run.code, describeRun(run)).toBe(0);
    const out = parseJson<UnpackJson>(run);
    const faults = countFaults(dest.proxy.log);
    console.log(
      `[reliability] unpack under faults: ${faults.requests} requests, ${faults.injected} faults injected ${JSON.stringify(faults.byFault)}, ` +
        `push.retries=${out.push.retries}, ${out.push.blobsUploaded} blobs uploaded (${out.push.bytesUploaded} bytes; ${uploadBytesSent(dest.proxy.log)} bytes sent incl. retries), ${run.ms} ms`,
    );
    expect(faults.injected / faults.requests).toBeGreaterThan(0.1);
    expect(out.push.retries).toBeGreaterThan(0);

    const images = await bundleImages(bundleDir);
    const failures = await skopeoCheckMirror(dest.reg, 'mirror', images, join(scratch, 'skopeo'));
    expect(failures).toEqual([]);
    const fp = await mirrorFingerprint(dest.reg);
    expect(fp.badBlobs).toEqual([]);
  });

  it('a source registry that stays down: pack fails clearly within a bounded time, then resumes', async () => {
    const to = join(scratch, 'bundle-down');
    // Let the release and its manifests through, then go down for good.
    src.proxy.setPlan({ down: '503' });
    const down = await bale(src.packArgs(to), { timeoutMs: 120_000 });
    console.log(
      `[reliability] pack against a registry that stays down (503): exit ${down.code} after ${down.ms} ms`,
    );
    console.log(`[reliability]   stderr: ${down.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/E_RETRIES_EXHAUSTED|E_HTTP|E_NETWORK/);
    expect(down.stderr).toContain(src.proxy.host);
    expect(down.ms).toBeLessThan(60_000);
    expect(await exists(join(to, 'bundle.json'))).toBe(false);

    src.proxy.setPlan({ down: 'close' });
    const closed = await bale(src.packArgs(to), { timeoutMs: 120_000 });
    console.log(
      `[reliability] pack against a registry that drops every connection: exit ${closed.code} after ${closed.ms} ms`,
    );
    console.log(`[reliability]   stderr: ${closed.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain(src.proxy.host);
    expect(closed.ms).toBeLessThan(60_000);

    src.proxy.setPlan({});
    const again = await bale(src.packArgs(to));
    expect(again.code, describeRun(again)).toBe(0);
    expect(await exists(join(to, 'bundle.json'))).toBe(true);
  });

  it('a destination registry that stays down: unpack fails clearly within a bounded time, then resumes', async () => {
    const d2 = await startProxiedDestination(scratch, { name: 'dest-down' });
    try {
      const args = [
        'unpack',
        bundleDir,
        '--to',
        d2.to,
        '--registry-config',
        d2.authFile,
        '--keyring',
        src.fx.keyringPath,
        '--manifests-to-dir',
        join(scratch, 'manifests-down'),
      ];
      // Let a part of the push through, then go down.
      d2.proxy.setPlan({ rules: [{ skip: 40, fault: { kind: 'status', status: 503 } }] });
      const down = await bale(args, { timeoutMs: 120_000 });
      console.log(
        `[reliability] unpack against a registry that goes down midway: exit ${down.code} after ${down.ms} ms`,
      );
      console.log(`[reliability]   stderr: ${down.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain(d2.proxy.host);
      expect(down.ms).toBeLessThan(60_000);

      d2.proxy.setPlan({});
      d2.proxy.log.length = 0;
      const again = await bale([...args, '--json']);
      expect(again.code, describeRun(again)).toBe(0);
      const out = parseJson<UnpackJson>(again);
      console.log(`[reliability]   re-run: ${JSON.stringify(out.push).slice(0, 300)}`);
      const failures = await skopeoCheckMirror(
        d2.reg,
        'mirror',
        await bundleImages(bundleDir),
        join(scratch, 'skopeo-down'),
      );
      expect(failures).toEqual([]);
    } finally {
      await d2.stop();
    }
  });
});

/**
 * Regression (src/registry/upload.ts, pushBlob): one retry budget used to cover a whole
 * blob upload (POST to start the session + PUT/PATCH of the bytes), so failures of
 * different requests added up: POST failing 3 times and each of 3 PUTs failing once
 * exhausted the 6 attempts although no request failed more than 3 times in a row. Under
 * 10-20 % of 503s, about 1 blob in 100-300 gave up. Now opening a session retries on its
 * own budget and the outer budget counts failed data transfers only.
 */
describe('upload retry budget', () => {
  it('unpack survives an upload whose POST and PUT each fail 3 times', async () => {
    const seed = suiteSeed(2);
    announceSeed('upload retry budget', seed);
    const src = await startProxiedSource({ seed, components: 1, incompressibleBytes: 64 << 10 });
    const scratch = await makeTempDir('bale-rel-budget-');
    const dest = await startProxiedDestination(scratch);
    try {
      const bundleDir = join(scratch, 'bundle');
      const pack = await bale(src.packArgs(bundleDir));
      expect(pack.code, describeRun(pack)).toBe(0);
      dest.proxy.setPlan({
        rules: [
          {
            name: 'post-503',
            method: 'POST',
            path: /\/blobs\/uploads\/$/,
            times: 3,
            fault: { kind: 'status', status: 503 },
          },
          {
            name: 'put-503',
            method: 'PUT',
            path: /\/blobs\/uploads\/[^?]+\?/,
            times: 3,
            fault: { kind: 'status', status: 503 },
          },
        ],
      });
      const run = await bale([
        'unpack',
        bundleDir,
        '--to',
        dest.to,
        '--registry-config',
        dest.authFile,
        '--keyring',
        src.fx.keyringPath,
        '--manifests-to-dir',
        join(scratch, 'manifests'),
        '--concurrency',
        '1',
      ]);
      expect(run.code, describeRun(run)).toBe(0);
    } finally {
      await dest.stop();
      await src.stop();
      await removeTempDir(scratch);
    }
  });
});
