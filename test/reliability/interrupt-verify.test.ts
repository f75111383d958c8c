/**
 * Ctrl-C during the audit commands: `bale verify` and `bale inspect --deep` on a bundle
 * large enough to take a while stop within 2 s of SIGINT / SIGTERM with 130 / 143.
 */
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBale } from '../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  collect,
  describeRun,
  sleep,
  startProxiedSource,
  suiteSeed,
  waitFor,
  type ProxiedSource,
} from './rig.js';

/** True while process `pid` has a bundle volume open (Linux /proc). */
async function readsVolume(pid: number): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (/\.tar\.zst$/.test(target)) return true;
  }
  return false;
}

describe('SIGINT / SIGTERM during verify and inspect --deep', () => {
  const seed = suiteSeed(23);
  let src: ProxiedSource;
  let scratch: string;
  let bundle: string;

  beforeAll(async () => {
    announceSeed('interrupt-verify', seed);
    src = await startProxiedSource({ seed, components: 2, incompressibleBytes: 96 << 20 });
    scratch = await makeTempDir('bale-rel-intv-');
    bundle = join(scratch, 'bundle');
    const packed = await bale(src.packArgs(bundle));
    expect(packed.code, describeRun(packed)).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  const commands: Record<string, () => string[]> = {
    verify: () => ['verify', bundle, '--keyring', src.fx.keyringPath],
    'inspect --deep': () => ['inspect', bundle, '--deep', '--keyring', src.fx.keyringPath],
  };

  for (const [name, args] of Object.entries(commands)) {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      it(`${name}: ${signal} exits ${code} within 2 s`, async () => {
        const child = spawnBale(args());
        const done = collect(child, 300_000);
        let exited = false;
        void done.then(() => (exited = true));
        // Work is under way once the process holds a volume open (its signal handlers are
        // installed long before that).
        await waitFor(() => readsVolume(child.pid ?? 0), 60_000, `${name} to open a volume`);
        await sleep(100);
        expect(exited, `${name} finished before the signal: make the bundle larger`).toBe(false);
        const sent = Date.now();
        child.kill(signal);
        const r = await done;
        const exitMs = Date.now() - sent;
        console.log(`[reliability] ${name} ${signal}: exit ${r.code} ${exitMs} ms after the signal`);
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toContain(`${signal} received`);
        expect(exitMs).toBeLessThan(2000);
      }, 600_000);
    }
  }
});
