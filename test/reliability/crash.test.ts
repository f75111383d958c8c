/**
 * Crashes: `kill -9` at seeded random offsets during `pack` (throttled source, several
 * volumes) and during `unpack --to` (throttled uploads); after each kill the same command
 * runs again, until one run finishes. The final bundle is byte-identical to an
 * uninterrupted pack (volumes, SHA256SUMS, bundle.json minus `created`); the final mirror
 * holds exactly what an uninterrupted unpack pushed (registry storage links, every blob
 * hashing to its name, skopeo copy by digest). The proxy logs give the bytes fetched (or
 * sent) again because of the kills.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBale } from '../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  blobBytesFetched,
  bundleFingerprint,
  bundleImages,
  collect,
  describeRun,
  exists,
  mirrorFingerprint,
  parseJson,
  skopeoCheckMirror,
  sleep,
  startProxiedDestination,
  startProxiedSource,
  suiteSeed,
  uploadBytesSent,
  type ProxiedSource,
} from './rig.js';

interface CrashLoopResult {
  kills: number;
  offsets: number[];
  finalMs: number;
  finalStdout: string;
}

/**
 * Runs `args` again and again, killing each run with SIGKILL after a random offset, until
 * `kills` kills were done (or a run finished before its kill); then one run to the end.
 * `afterKill` checks the on-disk state after each kill.
 */
async function crashLoop(
  args: string[],
  random: () => number,
  opts: {
    kills: number;
    minMs: number;
    maxMs: number;
    lateMs?: [number, number];
    afterKill?: (i: number) => Promise<void>;
  },
): Promise<CrashLoopResult> {
  const offsets: number[] = [];
  let kills = 0;
  for (let i = 0; i < opts.kills; i++) {
    const [lo, hi] =
      opts.lateMs !== undefined && i >= opts.kills - 2 ? opts.lateMs : [opts.minMs, opts.maxMs];
    const offset = Math.round(lo + random() * (hi - lo));
    const child = spawnBale(args);
    const done = collect(child, 120_000);
    const raced = await Promise.race([
      done.then(() => 'exited' as const),
      sleep(offset).then(() => 'due' as const),
    ]);
    if (raced === 'exited') {
      const r = await done;
      if (r.code === 0) return { kills, offsets, finalMs: r.ms, finalStdout: r.stdout };
      throw new Error(`run ${i + 1} failed before its kill: ${describeRun(r)}`);
    }
    child.kill('SIGKILL');
    const r = await done;
    if (r.signal !== 'SIGKILL') {
      // it finished in the same instant
      if (r.code === 0) return { kills, offsets, finalMs: r.ms, finalStdout: r.stdout };
      throw new Error(`run ${i + 1} failed: ${describeRun(r)}`);
    }
    kills++;
    offsets.push(offset);
    await opts.afterKill?.(i);
  }
  const final = await bale(args, { timeoutMs: 120_000 });
  if (final.code !== 0) throw new Error(`the run after ${kills} kills failed: ${describeRun(final)}`);
  return { kills, offsets, finalMs: final.ms, finalStdout: final.stdout };
}

describe('kill -9 at random points', () => {
  const seed = suiteSeed(10);
  let src: ProxiedSource;
  let scratch: string;
  let refBundle: string;
  let refBlobBytes = 0;
  const packExtra = ['--volume-size', '1MiB'];

  beforeAll(async () => {
    announceSeed('crash', seed);
    src = await startProxiedSource({
      seed,
      components: 5,
      incompressibleBytes: 3 << 20,
      largeBlobBytes: 1 << 20,
    });
    scratch = await makeTempDir('bale-rel-crash-');
    refBundle = join(scratch, 'ref-bundle');
    src.proxy.log.length = 0;
    const ref = await bale(src.packArgs(refBundle, packExtra));
    expect(ref.code, describeRun(ref)).toBe(0);
    refBlobBytes = blobBytesFetched(src.proxy.log);
  });
  afterAll(async () => {
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  it('pack: kill -9 6-10 times, re-run each time: the bundle equals an uninterrupted pack', async () => {
    const random = announceSeed('crash pack', seed + 1);
    const kills = 6 + Math.floor(random() * 5);
    const to = join(scratch, 'crash-bundle');
    // ~256 KiB/s per blob download: the pack takes a few seconds.
    src.proxy.setPlan({
      rules: [
        { method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: 256 * 1024 } },
      ],
    });
    src.proxy.log.length = 0;
    const args = [...src.packArgs(to, packExtra), '--json'];
    let verifiedMidway = 0;
    const journalVolumes: number[] = [];
    const res = await crashLoop(args, random, {
      kills,
      minMs: 300,
      maxMs: 2500,
      // the last kills come late, once volumes are being finished (the journal path)
      lateMs: [2500, 6000],
      afterKill: async () => {
        const journal = await readFile(join(to, '.bale', 'journal.json'), 'utf8').catch(
          () => '{"volumes":[]}',
        );
        journalVolumes.push((JSON.parse(journal) as { volumes: unknown[] }).volumes.length);
        // Nothing half-done may look finished: SHA256SUMS is written last.
        if (await exists(join(to, 'SHA256SUMS'))) {
          const v = await bale(['verify', to, '--keyring', src.fx.keyringPath]);
          expect(v.code, describeRun(v)).toBe(0);
          verifiedMidway++;
        }
      },
    });
    await src.proxy.settled();
    src.proxy.setPlan({});
    const fetched = blobBytesFetched(src.proxy.log);
    const out = parseJson<{ stats: { bytesResumed: number; volumesReused: number; blobsReused: number } }>({
      code: 0,
      signal: null,
      stdout: res.finalStdout,
      stderr: '',
    });
    console.log(
      `[reliability] pack crash: ${res.kills} kills at ${res.offsets.join(', ')} ms; blob bytes fetched ${fetched} vs ${refBlobBytes} uninterrupted ` +
        `(${fetched - refBlobBytes} re-fetched, ${(((fetched - refBlobBytes) / refBlobBytes) * 100).toFixed(1)} %); final run ${res.finalMs} ms ` +
        `reused ${out.stats.volumesReused} volumes, ${out.stats.blobsReused} blobs, resumed ${out.stats.bytesResumed} bytes of partial downloads; ${verifiedMidway} finished-looking states verified; volumes finished after each kill: ${journalVolumes.join(', ')}`,
    );
    expect(res.kills).toBeGreaterThanOrEqual(3);
    expect(await bundleFingerprint(to)).toEqual(await bundleFingerprint(refBundle));
    expect(await exists(join(to, '.bale'))).toBe(false);
  });

  it('unpack --to: kill -9 6-10 times, re-run each time: the mirror equals an uninterrupted unpack', async () => {
    const random = announceSeed('crash unpack', seed + 2);
    const kills = 6 + Math.floor(random() * 5);
    const refDest = await startProxiedDestination(scratch, { name: 'ref-dest' });
    const dest = await startProxiedDestination(scratch, { name: 'crash-dest' });
    try {
      const unpackArgs = (to: string, authFile: string, m: string): string[] => [
        'unpack',
        refBundle,
        '--to',
        to,
        '--registry-config',
        authFile,
        '--keyring',
        src.fx.keyringPath,
        '--manifests-to-dir',
        join(scratch, m),
      ];
      const ref = await bale(unpackArgs(refDest.to, refDest.authFile, 'ref-manifests'));
      expect(ref.code, describeRun(ref)).toBe(0);
      const refUpload = uploadBytesSent(refDest.proxy.log);
      const refFp = await mirrorFingerprint(refDest.reg);

      dest.proxy.setPlan({
        rules: [
          {
            method: 'PATCH|PUT',
            path: /\/blobs\/uploads\//,
            fault: { kind: 'throttle', bytesPerSecond: 256 * 1024, on: 'request' },
          },
        ],
      });
      const res = await crashLoop(
        [...unpackArgs(dest.to, dest.authFile, 'crash-manifests'), '--json'],
        random,
        {
          kills,
          minMs: 800,
          maxMs: 3500,
        },
      );
      await dest.proxy.settled();
      const sent = uploadBytesSent(dest.proxy.log);
      console.log(
        `[reliability] unpack crash: ${res.kills} kills at ${res.offsets.join(', ')} ms; upload bytes sent ${sent} vs ${refUpload} uninterrupted ` +
          `(${sent - refUpload} sent again, ${(((sent - refUpload) / refUpload) * 100).toFixed(1)} %); final run ${res.finalMs} ms`,
      );
      expect(res.kills).toBeGreaterThanOrEqual(3);
      const fp = await mirrorFingerprint(dest.reg);
      expect(fp.badBlobs).toEqual([]);
      expect(fp.links).toEqual(refFp.links);
      expect(
        await skopeoCheckMirror(
          dest.reg,
          'mirror',
          await bundleImages(refBundle),
          join(scratch, 'skopeo-crash'),
        ),
      ).toEqual([]);
    } finally {
      await dest.stop();
      await refDest.stop();
    }
  });
});
