/**
 * Unpacking an incremental bundle (compiled CLI, real registries): `--to-dir` needs
 * `--base-dir` and completes the layout from it (checked by digest); a base directory
 * that lacks a blob, or holds other bytes under its name, is refused before anything is
 * written. Forged bases (bundle.json edited, every checksum re-sealed): what can an
 * attacker gain by listing digests in `base`? Not a missing blob (unpack finds it
 * missing at the destination and pushes nothing), not a manifest (a base never stands in
 * for one: a tag to a manifest off the media stays incomplete), and not a mount of
 * something no manifest needs (verify refuses the listing).
 */
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureRelease } from '../../../fixtures/index.js';
import { forgeBase } from '../../../fixtures/hostile/forge-base.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { parseManifest } from '../../../src/registry/manifest.js';
import { runBale } from '../../helpers/bale.js';
import { readBundleJson } from '../../helpers/bundle-json.js';
import type { FixtureSetup } from '../../helpers/fixture-setup.js';
import { setupMonthlyUpdate } from '../../helpers/monthly-update.js';
import { pathExists } from '../../helpers/path-exists.js';
import { registryWrites } from '../../helpers/registry-log.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { oneJson, storedFiles } from './unpack-helpers.js';

const SEED = 16;

/** Blob files (configs and layers) of a bundle: entry paths under v2/…/blobs/ that no manifest link names. */
function blobPaths(index: BundleIndex): string[] {
  const manifests = new Set(index.entries.filter((e) => e.type === 'hardlink').map((e) => e.linkTarget));
  return index.entries
    .filter((e) => e.type === 'file' && /^v2\/.+\/blobs\/sha256:/.test(e.path) && !manifests.has(e.path))
    .map((e) => e.path)
    .sort();
}

describe('unpack of an incremental bundle', () => {
  let setup: FixtureSetup;
  let fxB: FixtureRelease;
  let dirA: string;
  let dirInc: string;
  let dirFull: string;
  let inc: BundleIndex;
  let full: BundleIndex;
  let outA: string;

  beforeAll(async () => {
    const update = await setupMonthlyUpdate({ seed: SEED });
    setup = update.setup;
    fxB = update.fxB;
    dirA = join(setup.work, 'a');
    dirInc = join(setup.work, 'b-inc');
    dirFull = join(setup.work, 'b-full');
    const packB = [...update.packArgsB(), '--quiet'];
    const a = await runBale([...setup.packArgs(), '--to', dirA, '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const b = await runBale([...packB, '--since', dirA, '--to', dirInc]);
    expect(b.code, b.stderr).toBe(0);
    const f = await runBale([...packB, '--to', dirFull]);
    expect(f.code, f.stderr).toBe(0);
    inc = await readBundleJson(dirInc);
    full = await readBundleJson(dirFull);
    expect(inc.base?.digests.length).toBeGreaterThan(0);
    outA = join(setup.work, 'out-a');
    const u = await runBale(['unpack', dirA, '--to-dir', outA, ...common('a')]);
    expect(u.code, u.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await setup?.stop();
  });

  function common(name: string): string[] {
    return [
      '--keyring',
      setup.fx.keyringPath,
      '--manifests-to-dir',
      join(setup.work, `manifests-${name}`),
      '--json',
    ];
  }

  it('--to-dir without --base-dir: a usage error naming --base-dir, nothing written', async () => {
    const out = join(setup.work, 'out-no-base');
    const r = await runBale(['unpack', dirInc, '--to-dir', out, ...common('no-base')]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('--base-dir');
    expect(r.stdout + r.stderr).toContain('E_USAGE');
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect(await pathExists(join(setup.work, 'manifests-no-base'))).toBe(false);
  });

  it('--to-dir with --base-dir: the layout is complete (every blob of the full pack, by digest)', async () => {
    const out = join(setup.work, 'out-b');
    const r = await runBale(['unpack', dirInc, '--to-dir', out, '--base-dir', outA, ...common('b')]);
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<{ toDir: { base: { copied: number; present: number } } }>(r);
    const wanted = (inc.base?.digests ?? []).reduce((n, d) => n + 1 + (d.mountTo?.length ?? 0), 0);
    expect(res.toDir.base.copied).toBe(wanted);
    for (const p of blobPaths(full)) {
      const bytes = await readFile(join(out, p));
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, p).toBe(
        p.slice(p.lastIndexOf('/') + 1),
      );
    }
  });

  it('--base-dir the same as --to-dir (unpacking into one directory every month): nothing to copy', async () => {
    const same = join(setup.work, 'out-same');
    await cp(outA, same, { recursive: true, verbatimSymlinks: true });
    const r = await runBale(['unpack', dirInc, '--to-dir', same, '--base-dir', same, ...common('same')]);
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<{ toDir: { base: { copied: number; present: number } } }>(r);
    expect(res.toDir.base.copied).toBe(0);
    expect(res.toDir.base.present).toBeGreaterThan(0);
    for (const p of blobPaths(full)) expect(await pathExists(join(same, p)), p).toBe(true);
  });

  it('a --base-dir that lacks a base blob, or holds other bytes under its name: E_BASE_MISSING, nothing written', async () => {
    const first = inc.base?.digests[0];
    const second = inc.base?.digests[1] ?? first;
    expect(first).toBeDefined();
    const lacking = join(setup.work, 'base-lacking');
    await cp(outA, lacking, { recursive: true, verbatimSymlinks: true });
    await rm(join(lacking, 'v2', first!.repository, 'blobs', first!.digest));
    const out1 = join(setup.work, 'out-lacking');
    const r1 = await runBale([
      'unpack',
      dirInc,
      '--to-dir',
      out1,
      '--base-dir',
      lacking,
      ...common('lacking'),
    ]);
    expect(r1.code).toBe(1);
    expect(r1.stdout).toContain('E_BASE_MISSING');
    expect(r1.stdout).toContain(first!.digest);
    expect(await readdir(out1).catch(() => [])).toEqual(expect.not.arrayContaining(['v2']));

    const swapped = join(setup.work, 'base-swapped');
    await cp(outA, swapped, { recursive: true, verbatimSymlinks: true });
    const target = join(swapped, 'v2', second!.repository, 'blobs', second!.digest);
    const bytes = await readFile(target);
    bytes[0] = bytes[0]! ^ 0xff;
    await rm(target);
    await writeFile(target, bytes);
    const out2 = join(setup.work, 'out-swapped');
    const r2 = await runBale([
      'unpack',
      dirInc,
      '--to-dir',
      out2,
      '--base-dir',
      swapped,
      ...common('swapped'),
    ]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain('E_BASE_MISSING');
    expect(r2.stdout).toContain(second!.digest);
    expect(await readdir(out2).catch(() => [])).toEqual(expect.not.arrayContaining(['v2']));
  });

  describe('forged bases (re-sealed)', () => {
    let dest: TestRegistry;
    beforeAll(async () => {
      dest = await startRegistry();
    });
    afterAll(async () => {
      await dest?.stop();
    });

    const copyFull = async (name: string): Promise<string> => {
      const dir = join(setup.work, name);
      await cp(dirFull, dir, { recursive: true });
      return dir;
    };
    /** A blob only B has (so at no destination that holds A), of a component in openshift/release. */
    const newBlob = async (): Promise<string> => {
      const aDigests = new Set((inc.base?.digests ?? []).map((d) => d.digest));
      // Not one of the release image's own blobs (verify reads its payload from the media).
      const client = new RegistryClient({ tlsVerify: false });
      const releaseBlobs = new Set<string>();
      try {
        const m = await client.getManifest(
          { registry: setup.reg.host, repository: fxB.release.repository },
          fxB.release.digest,
        );
        const parsed = parseManifest(m.bytes, m.mediaType);
        for (const d of [parsed.config, ...parsed.layers]) if (d) releaseBlobs.add(d.digest);
      } finally {
        await client.close();
      }
      const p = blobPaths(inc).find((x) => {
        const d = x.slice(x.lastIndexOf('/') + 1);
        return x.startsWith('v2/openshift/release/blobs/') && !aDigests.has(d) && !releaseBlobs.has(d);
      });
      return p ?? '';
    };

    it('a blob dropped from the media and "listed in the base": verify cannot tell, but unpack finds it missing and pushes nothing', async () => {
      const dir = await copyFull('forged-blob');
      const path = await newBlob();
      expect(path).not.toBe('');
      const digest = path.slice(path.lastIndexOf('/') + 1);
      await forgeBase(
        dir,
        (p) => p === path,
        () => [{ digest, repository: 'openshift/release' }],
      );
      const v = await runBale(['verify', dir, '--keyring', setup.fx.keyringPath, '--json']);
      // The content is addressed by digest: a base entry cannot change what the bytes are.
      expect(v.code, v.stdout).toBe(0);
      const r = await runBale([
        'unpack',
        dir,
        '--to',
        `${dest.host}/m`,
        '--dest-tls-verify=false',
        ...common('forged-blob'),
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('E_BASE_MISSING');
      expect(r.stdout).toContain(digest);
      expect(await registryWrites(dest)).toEqual([]);
      expect(await storedFiles(dest)).toEqual([]);
    });

    it('a component manifest dropped and its digest "listed in the base": still incomplete (a base never stands in for a manifest)', async () => {
      const dir = await copyFull('forged-manifest');
      const comp = full.images.find(
        (i) => i.repository === 'openshift/release' && i.name !== 'release' && !i.children,
      );
      expect(comp).toBeDefined();
      const d = comp!.digest;
      const drop = (p: string): boolean =>
        p === `v2/openshift/release/blobs/${d}` || p === `v2/openshift/release/manifests/${d}`;
      await forgeBase(dir, drop, () => [{ digest: d, repository: 'openshift/release' }]);
      const v = await runBale(['verify', dir, '--keyring', setup.fx.keyringPath, '--json']);
      expect(v.code).toBe(1);
      const report = oneJson<{ problems: { code: string; message: string; digest?: string }[] }>(v);
      expect(report.problems.some((p) => p.code === 'E_BUNDLE_INCOMPLETE' && p.message.includes(d))).toBe(
        true,
      );
      // and the listing itself names nothing any manifest needs
      expect(
        report.problems.some((p) => p.code === 'E_BUNDLE_INVALID' && p.message.includes(`base lists ${d}`)),
      ).toBe(true);
      const r = await runBale([
        'unpack',
        dir,
        '--to',
        `${dest.host}/m2`,
        '--dest-tls-verify=false',
        '--verify-first',
        ...common('forged-manifest'),
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/E_VERIFY_FAILED|E_BASE_MISSING/); // the base pre-check may refuse first
      expect(await registryWrites(dest)).toEqual([]);
    });

    it('a digest no manifest needs, "mounted" from another repository: verify refuses the listing, unpack mounts nothing', async () => {
      const dir = await copyFull('forged-mount');
      const stranger = `sha256:${'ab'.repeat(32)}`;
      await forgeBase(
        dir,
        () => false,
        () => [{ digest: stranger, repository: 'private/secrets', mountTo: ['openshift/release'] }],
      );
      const v = await runBale(['verify', dir, '--keyring', setup.fx.keyringPath, '--json']);
      expect(v.code).toBe(1);
      const report = oneJson<{ problems: { code: string; message: string }[] }>(v);
      expect(report.problems).toEqual([
        expect.objectContaining({
          code: 'E_BUNDLE_INVALID',
          message: `base lists ${stranger} for openshift/release, but no manifest of the bundle needs it there`,
        }),
      ]);
      const r = await runBale([
        'unpack',
        dir,
        '--to',
        `${dest.host}/m3`,
        '--dest-tls-verify=false',
        '--verify-first',
        ...common('forged-mount'),
      ]);
      expect(r.code).toBe(1);
      expect(await registryWrites(dest)).toEqual([]);
    });

    it('a base entry that also names a carried blob is an invalid index', async () => {
      const dir = await copyFull('forged-both');
      const path = blobPaths(full)[0] ?? '';
      const m = /^v2\/(.+)\/blobs\/(sha256:.+)$/.exec(path);
      await forgeBase(
        dir,
        () => false,
        () => [{ digest: m?.[2] ?? '', repository: m?.[1] ?? '' }],
      );
      const v = await runBale(['verify', dir, '--keyring', setup.fx.keyringPath, '--json']);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain('is both carried');
    });
  });
});
