/**
 * Full disk and bad media. Packs and unpacks onto small tmpfs mounts (we run as root in
 * CI; without mount permission these tests are skipped with a message): the up-front
 * space check, or the failing write, gives E_NO_SPACE naming the path; nothing half-done
 * looks finished (no bundle.json / SHA256SUMS); after the filesystem grows (remount) the
 * same command resumes. A volume that reads back differently is caught by
 * `bale verify --volume`, and `pack --verify-after-write` passes on good media.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBale } from '../helpers/bale.js';
import { run } from '../helpers/run.js';
import { makeTempDir, onProcessExit, removeTempDir } from '../helpers/tmp.js';
import {
  announceSeed,
  bale,
  collect,
  describeRun,
  exists,
  parseJson,
  startProxiedSource,
  suiteSeed,
  treeHashes,
  waitFor,
  type ProxiedSource,
} from './rig.js';

const mounts: string[] = [];

async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (r.code !== 0) {
    console.log(
      `[reliability] mount -t tmpfs not permitted here (${r.stderr.trim()}): full-disk tests skipped`,
    );
    return false;
  }
  mounts.push(dir);
  return true;
}

async function remount(dir: string, size: string): Promise<void> {
  const r = await run('mount', ['-o', `remount,size=${size}`, dir]);
  if (r.code !== 0) throw new Error(`remount ${dir}: ${r.stderr}`);
}

function unmountAll(): void {
  for (const dir of mounts.splice(0)) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // best effort
    }
  }
}

/** Fills the filesystem holding `dir` with one file until ENOSPC; returns its path. */
async function fill(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
  return path;
}

describe('full disk', () => {
  const seed = suiteSeed(30);
  let src: ProxiedSource;
  let scratch: string;
  let canMount = false;
  let unregister: () => void = () => {};

  beforeAll(async () => {
    announceSeed('full disk', seed);
    src = await startProxiedSource({ seed, components: 3, incompressibleBytes: 2 << 20 });
    scratch = await makeTempDir('bale-rel-disk-');
    unregister = onProcessExit(unmountAll);
    canMount = await mountTmpfs(join(scratch, 'probe'), '1m');
  });
  afterAll(async () => {
    unmountAll();
    unregister();
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  it('pack onto a too-small filesystem refuses up front with E_NO_SPACE naming the path; resumes after it grows', async (ctx) => {
    if (!canMount) return ctx.skip();
    const mnt = join(scratch, 'small');
    expect(await mountTmpfs(mnt, '1m')).toBe(true);
    const to = join(mnt, 'bundle');
    const r = await bale([...src.packArgs(to), '--json']);
    console.log(
      `[reliability] pack onto 1 MiB tmpfs: exit ${r.code}; stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    );
    expect(r.code).toBe(1);
    const err = parseJson<{ error: { code: string; path?: string; message: string } }>(r).error;
    expect(err.code).toBe('E_NO_SPACE');
    expect(err.message).toContain(to);
    expect(await exists(join(to, 'bundle.json'))).toBe(false);
    expect(await exists(join(to, 'SHA256SUMS'))).toBe(false);
    await remount(mnt, '64m');
    const again = await bale(src.packArgs(to));
    expect(again.code, describeRun(again)).toBe(0);
    const v = await bale(['verify', to, '--keyring', src.fx.keyringPath]);
    expect(v.code, describeRun(v)).toBe(0);
  });

  it('pack whose disk fills up during the run fails with E_NO_SPACE naming the path, leaves nothing finished-looking, resumes after space is freed', async (ctx) => {
    if (!canMount) return ctx.skip();
    const mnt = join(scratch, 'fills');
    expect(await mountTmpfs(mnt, '48m')).toBe(true);
    const to = join(mnt, 'bundle');
    src.proxy.setPlan({
      rules: [
        { method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: 256 * 1024 } },
      ],
    });
    src.proxy.log.length = 0;
    const child = spawnBale([...src.packArgs(to, ['--volume-size', '1MiB']), '--json']);
    const done = collect(child, 120_000);
    // Once downloads are flowing, another program eats all the free space.
    await waitFor(
      () => src.proxy.log.some((e) => /\/blobs\/sha256:/.test(e.path) && e.bytes > 64 * 1024),
      30_000,
      'downloads',
    );
    const filler = await fill(mnt);
    const r = await done;
    src.proxy.setPlan({});
    console.log(
      `[reliability] pack while the disk fills: exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    );
    expect(r.code, describeRun(r)).toBe(1);
    const err = parseJson<{ error: { code: string; path?: string; message: string } }>(r).error;
    expect(err.code).toBe('E_NO_SPACE');
    expect(err.message).toContain(mnt);
    expect(await exists(join(to, 'bundle.json'))).toBe(false);
    expect(await exists(join(to, 'SHA256SUMS'))).toBe(false);
    await rm(filler);
    const again = await bale(src.packArgs(to, ['--volume-size', '1MiB']));
    expect(again.code, describeRun(again)).toBe(0);
    const v = await bale(['verify', to, '--keyring', src.fx.keyringPath]);
    expect(v.code, describeRun(v)).toBe(0);
  });

  it('unpack --to-dir onto a too-small filesystem fails with E_NO_SPACE naming the path; resumes after it grows', async (ctx) => {
    if (!canMount) return ctx.skip();
    const bundleDir = join(scratch, 'bundle');
    const p = await bale(src.packArgs(bundleDir));
    expect(p.code, describeRun(p)).toBe(0);
    const refDir = join(scratch, 'ref-dir');
    const ref = await bale([
      'unpack',
      bundleDir,
      '--to-dir',
      refDir,
      '--keyring',
      src.fx.keyringPath,
      '--manifests-to-dir',
      join(scratch, 'm0'),
    ]);
    expect(ref.code, describeRun(ref)).toBe(0);

    const mnt = join(scratch, 'small-dir');
    expect(await mountTmpfs(mnt, '1m')).toBe(true);
    const toDir = join(mnt, 'mirror');
    const args = [
      'unpack',
      bundleDir,
      '--to-dir',
      toDir,
      '--keyring',
      src.fx.keyringPath,
      '--manifests-to-dir',
      join(scratch, 'm1'),
    ];
    const r = await bale([...args, '--json']);
    console.log(
      `[reliability] unpack --to-dir onto 1 MiB tmpfs: exit ${r.code}; stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    );
    expect(r.code).toBe(1);
    const err = parseJson<{ error: { code: string; message: string } }>(r).error;
    expect(err.code).toBe('E_NO_SPACE');
    expect(err.message).toContain(toDir);
    // No file of the mirror may be partial under its final name.
    const partial = await treeHashes(toDir);
    const expected = await treeHashes(refDir);
    for (const [rel, hash] of partial) {
      if (expected.has(rel)) expect(hash, rel).toBe(expected.get(rel));
    }
    await remount(mnt, '64m');
    const again = await bale([...args, '--json']);
    expect(again.code, describeRun(again)).toBe(0);
    const out = parseJson<{ toDir: { filesWritten: number; filesPresent: number } }>(again);
    console.log(
      `[reliability]   re-run: ${out.toDir.filesWritten} files written, ${out.toDir.filesPresent} already there`,
    );
    expect(await treeHashes(toDir)).toEqual(expected);
  });
});

describe('media errors', () => {
  const seed = suiteSeed(40);
  let src: ProxiedSource;
  let scratch: string;

  beforeAll(async () => {
    announceSeed('media errors', seed);
    src = await startProxiedSource({ seed, components: 3, incompressibleBytes: 2 << 20 });
    scratch = await makeTempDir('bale-rel-media-');
  });
  afterAll(async () => {
    await src?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  /**
   * Regression: --verify-after-write used to fail always, because the read-back ran
   * while .bale/ (state and lock) was still in the bundle directory; it now ignores it.
   */
  it('pack --verify-after-write passes on good media', async () => {
    const to = join(scratch, 'bundle-vaw');
    const r = await bale(src.packArgs(to, ['--volume-size', '1MiB', '--verify-after-write']));
    console.log(
      `[reliability] pack --verify-after-write on good media: exit ${r.code}; ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    );
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/verify after write/);
    expect(await exists(join(to, '.bale'))).toBe(false);
  });

  it('a volume that reads back differently (one flipped bit) is caught by verify --volume', async () => {
    const to = join(scratch, 'bundle');
    const r = await bale(src.packArgs(to, ['--volume-size', '1MiB']));
    expect(r.code, describeRun(r)).toBe(0);
    const index = JSON.parse(await readFile(join(to, 'bundle.json'), 'utf8')) as {
      volumes: { name: string; size: number }[];
    };
    expect(index.volumes.length).toBeGreaterThan(1);
    const victim = index.volumes[1];
    if (victim === undefined) throw new Error('no second volume');
    // The medium returns one bit different in the middle of volume 2.
    const path = join(to, victim.name);
    const fh = await open(path, 'r+');
    const at = Math.floor((await stat(path)).size / 2);
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = (b[0] ?? 0) ^ 0x01;
    await fh.write(b, 0, 1, at);
    await fh.close();

    const bad = await bale(['verify', to, '--volume', victim.name, '--keyring', src.fx.keyringPath]);
    console.log(
      `[reliability] verify --volume ${victim.name} after a bit flip at ${at}: exit ${bad.code}; ${bad.stdout.trim().split('\n').slice(0, 2).join(' | ')}`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(victim.name);
    const first = index.volumes[0]?.name ?? '';
    const good = await bale(['verify', to, '--volume', first, '--keyring', src.fx.keyringPath]);
    expect(good.code, describeRun(good)).toBe(0);
  });
});
