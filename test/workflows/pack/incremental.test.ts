/**
 * The monthly update, end to end with the compiled CLI and real registries: release A
 * (4.18.7) is packed in full and unpacked into a mirror; `bale snapshot` fingerprints
 * the mirror; release B (4.18.8, same seed: it shares the base, runtime and random
 * layers with A, its own layers and configs are new) is packed with `--have` that
 * snapshot. The incremental bundle must carry only what A lacks (counted against B's
 * full pack), verify and inspect must say what it relies on, an empty registry must be
 * refused before any upload (its access log has no POST, PUT or PATCH), and unpacking
 * into the mirror must leave every digest of A and B there (skopeo, an independent
 * client). `--since` A's bundle must leave out the same blobs.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { runBale, type BaleRun } from '../../helpers/bale.js';
import { readBundleJson } from '../../helpers/bundle-json.js';
import type { FixtureSetup } from '../../helpers/fixture-setup.js';
import { setupMonthlyUpdate, type MonthlyUpdate } from '../../helpers/monthly-update.js';
import { pathExists } from '../../helpers/path-exists.js';
import { registryWrites } from '../../helpers/registry-log.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { expectMirrorComplete, oneJson, storedFiles } from '../unpack/unpack-helpers.js';

const SEED = 15;
const PREFIX = 'mirror';

/** Blob entries (configs and layers, not manifests) of a bundle, as `repository@digest`. */
function carriedBlobs(index: BundleIndex): Set<string> {
  const manifests = new Set(
    index.entries.filter((e) => e.type === 'hardlink').map((e) => e.linkTarget ?? ''),
  );
  const out = new Set<string>();
  for (const e of index.entries) {
    const m = /^v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(e.path);
    if (m && e.type === 'file' && !manifests.has(e.path)) out.add(`${m[1]}@${m[2]}`);
  }
  return out;
}

describe('incremental bundles: pack --have/--since, unpack checks the base', () => {
  let setup: FixtureSetup;
  let update: MonthlyUpdate;
  let mirror: TestRegistry;
  let empty: TestRegistry;
  const dirs = { a: '', bFull: '', bHave: '', bSince: '', snapshot: '' };
  const idx = {} as Record<'a' | 'bFull' | 'bHave' | 'bSince', BundleIndex>;

  beforeAll(async () => {
    update = await setupMonthlyUpdate({ seed: SEED });
    setup = update.setup;
    mirror = await startRegistry();
    empty = await startRegistry();
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = join(setup.work, k);
    const packA = await runBale([...setup.packArgs(), '--to', dirs.a, '--quiet']);
    expect(packA.code, packA.stderr).toBe(0);
    const packB = await runBale([...update.packArgsB(), '--to', dirs.bFull, '--quiet']);
    expect(packB.code, packB.stderr).toBe(0);
    idx.a = await readBundleJson(dirs.a);
    idx.bFull = await readBundleJson(dirs.bFull);
  }, 300_000);

  afterAll(async () => {
    await mirror?.stop();
    await empty?.stop();
    await setup?.stop();
  });

  const unpackArgs = (bundle: string, to: string): string[] => [
    'unpack',
    bundle,
    '--to',
    to,
    '--dest-tls-verify=false',
    '--keyring',
    setup.fx.keyringPath,
    '--manifests-to-dir',
    join(setup.work, `manifests-${to.replace(/[^a-z0-9]/gi, '_')}`),
    '--json',
  ];

  it("the round trip: A in full, snapshot the mirror, B --have carries only B's new blobs, unpack B, every digest of A and B there", async () => {
    // A into the mirror, then the mirror's snapshot (what an operator carries out).
    const ua = await runBale(unpackArgs(dirs.a, `${mirror.host}/${PREFIX}`));
    expect(ua.code, ua.stderr).toBe(0);
    const snap = await runBale(['snapshot', `${mirror.host}/${PREFIX}`, '--dest-tls-verify=false']);
    expect(snap.code, snap.stderr).toBe(0);
    dirs.snapshot = join(setup.work, 'mirror-snapshot.yaml');
    await writeFile(dirs.snapshot, snap.stdout);

    const pb = await runBale([...update.packArgsB(), '--have', dirs.snapshot, '--to', dirs.bHave, '--json']);
    expect(pb.code, pb.stderr).toBe(0);
    const packed = oneJson<{ base: { kind: string; digests: number; bytes: number } }>(pb);
    idx.bHave = await readBundleJson(dirs.bHave);
    const base = idx.bHave.base;
    expect(base?.kind).toBe('snapshot');
    expect(base?.file).toBe('mirror-snapshot.yaml');
    expect(packed.base.digests).toBe(base?.digests.length);

    // Counted against B's full pack: every blob is carried or in the base, never both,
    // and the base is exactly B's blobs that A's bundle (now in the mirror) carried,
    // except the release image's own (verify reads its payload from the media).
    const full = carriedBlobs(idx.bFull);
    const inc = carriedBlobs(idx.bHave);
    const aBlobs = new Set([...carriedBlobs(idx.a)].map((k) => k.slice(k.indexOf('@') + 1)));
    const baseKeys = new Set(
      (base?.digests ?? []).flatMap((d) =>
        [d.repository, ...(d.mountTo ?? [])].map((r) => `${r}@${d.digest}`),
      ),
    );
    expect(baseKeys.size).toBeGreaterThan(0);
    expect(inc.size).toBeLessThan(full.size);
    expect(inc.size + baseKeys.size).toBe(full.size);
    for (const k of inc) expect(baseKeys.has(k), k).toBe(false);
    for (const k of baseKeys) {
      expect(full.has(k), k).toBe(true);
      expect(aBlobs.has(k.slice(k.indexOf('@') + 1)), k).toBe(true);
    }
    for (const k of full) {
      if (!aBlobs.has(k.slice(k.indexOf('@') + 1)))
        expect(inc.has(k), `${k} is new in B, so carried`).toBe(true);
    }
    if (process.env.BALE_TEST_MEASURE) {
      const sz = (i: BundleIndex) => i.volumes.reduce((n, v) => n + v.size, 0);
      process.stderr.write(
        `measure: B full ${full.size} blobs ${sz(idx.bFull)} bytes; B --have ${inc.size} blobs ${sz(idx.bHave)} bytes; base ${base?.digests.length} digests\n`,
      );
    }
    // Every manifest is still carried.
    const manifestsOf = (i: BundleIndex) => i.entries.filter((e) => e.type === 'hardlink').map((e) => e.path);
    expect(manifestsOf(idx.bHave).sort()).toEqual(manifestsOf(idx.bFull).sort());
    // Smaller media.
    const bytes = (i: BundleIndex) => i.volumes.reduce((n, v) => n + v.size, 0);
    expect(bytes(idx.bHave)).toBeLessThan(bytes(idx.bFull));

    // verify: complete, and says it is incremental with the size of its base (text and JSON).
    const vj = await runBale(['verify', dirs.bHave, '--keyring', setup.fx.keyringPath, '--json']);
    expect(vj.code, vj.stdout).toBe(0);
    const vr = oneJson<{
      ok: boolean;
      incremental: boolean;
      base: { digests: number; bytes: number; kind: string };
    }>(vj);
    expect(vr.incremental).toBe(true);
    expect(vr.base.digests).toBe(base?.digests.length);
    expect(vr.base.bytes).toBe((base?.digests ?? []).reduce((n, d) => n + (d.size ?? 0), 0));
    const vt = await runBale(['verify', dirs.bHave, '--keyring', setup.fx.keyringPath]);
    expect(vt.code).toBe(0);
    expect(vt.stdout).toMatch(/incremental bundle: relies on \d+ blob\(s\)/);
    const full_ = await runBale(['verify', dirs.bFull, '--keyring', setup.fx.keyringPath, '--json']);
    expect(oneJson<{ incremental: boolean }>(full_).incremental).toBe(false);

    // inspect shows it in every format.
    const ij = await runBale(['inspect', dirs.bHave, '--output', 'json']);
    expect(ij.code, ij.stderr).toBe(0);
    expect(oneJson<{ base: { blobs: unknown[] } }>(ij).base.blobs.length).toBe(base?.digests.length);
    const it_ = await runBale(['inspect', dirs.bHave]);
    expect(it_.stdout).toMatch(/^Base {6}incremental: \d+ blob\(s\)/m);
    expect(it_.stdout).toContain('BASE (expected at the destination, not carried)');
    const ic = await runBale(['inspect', dirs.bHave, '--output', 'csv']);
    expect(ic.stdout.split('\n').filter((l) => l.startsWith('(base),')).length).toBe(base?.digests.length);
    const iy = await runBale(['inspect', dirs.bHave, '--output', 'yaml']);
    expect(iy.stdout).toMatch(/^base:\n/m);

    // Into the mirror that holds A: the base checks out, B arrives; skopeo finds A and B.
    const ub = await runBale(unpackArgs(dirs.bHave, `${mirror.host}/${PREFIX}`));
    expect(ub.code, ub.stderr).toBe(0);
    const pushed = oneJson<{ push: { base: { present: number } } }>(ub);
    expect(pushed.push.base.present).toBe(base?.digests.length);
    await expectMirrorComplete(mirror, PREFIX, idx.a);
    await expectMirrorComplete(mirror, PREFIX, idx.bFull);
  }, 600_000);

  it('the same incremental bundle into an empty registry: refused before any upload, naming the missing base digests', async () => {
    expect(idx.bHave, 'runs after the round trip').toBeDefined();
    const r = await runBale(unpackArgs(dirs.bHave, `${empty.host}/${PREFIX}`));
    expect(r.code).not.toBe(0);
    const text = `${r.stdout}\n${r.stderr}`;
    if (process.env.BALE_TEST_MEASURE) process.stderr.write(`refusal: ${text}\n`);
    expect(text).toContain('E_BASE_MISSING');
    expect(text).toContain('mirror-snapshot.yaml');
    const first = idx.bHave.base?.digests[0];
    expect(text).toContain(first?.digest ?? 'none');
    expect(await registryWrites(empty)).toEqual([]);
    // The same log shows writes where there were some: the check above can fail.
    expect((await registryWrites(mirror)).length).toBeGreaterThan(0);
    expect(await storedFiles(empty)).toEqual([]);
  }, 120_000);

  it("--since A's bundle leaves out the same blobs as --have the mirror's snapshot", async () => {
    expect(idx.bHave, 'runs after the round trip').toBeDefined();
    const r = await runBale([...update.packArgsB(), '--since', dirs.a, '--to', dirs.bSince, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    idx.bSince = await readBundleJson(dirs.bSince);
    expect(idx.bSince.base?.kind).toBe('bundle');
    expect(idx.bSince.base?.file).toBe('bundle.json');
    expect(idx.bSince.base?.created).toBe(idx.a.created);
    expect(idx.bSince.base?.digests).toEqual(idx.bHave.base?.digests);
    expect([...carriedBlobs(idx.bSince)].sort()).toEqual([...carriedBlobs(idx.bHave)].sort());
    // bundle.json's own path works too.
    const viaFile = await runBale([
      ...update.packArgsB(),
      '--since',
      join(dirs.a, 'bundle.json'),
      '--to',
      join(setup.work, 'b-since-file'),
      '--quiet',
    ]);
    expect(viaFile.code, viaFile.stderr).toBe(0);
    expect((await readBundleJson(join(setup.work, 'b-since-file'))).base?.digests).toEqual(
      idx.bHave.base?.digests,
    );
  }, 300_000);

  it('a blob the base holds in another repository is mounted where the bundle needs it', async () => {
    expect(idx.bHave, 'runs after the round trip').toBeDefined();
    // B plus one of A's components as an extra image: its blobs are in the mirror, but
    // under openshift/release, not under the extra image's own repository.
    const comp = setup.fx.components.find(
      (c) => !c.mediaType.includes('index') && !c.mediaType.includes('list'),
    );
    expect(comp).toBeDefined();
    const to = join(setup.work, 'b-extra');
    const r = await runBale([
      ...update.packArgsB(),
      '--image',
      comp!.ref,
      '--since',
      dirs.a,
      '--to',
      to,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const index = await readBundleJson(to);
    const extra = index.images.find((i) => i.name === comp!.ref);
    expect(extra).toBeDefined();
    const mounted = (index.base?.digests ?? []).filter((d) => d.mountTo?.includes(extra!.repository));
    expect(mounted.length).toBeGreaterThan(0);
    for (const d of mounted) expect(d.repository).toBe('openshift/release');
    // The extra image is anchored by nothing (bundle.json is not signed): accepted explicitly.
    const u = await runBale([...unpackArgs(to, `${mirror.host}/${PREFIX}`), '--allow-unsigned']);
    expect(u.code, u.stderr).toBe(0);
    const res = oneJson<{ push: { base: { present: number; mounted: number } } }>(u);
    expect(res.push.base.mounted).toBe(mounted.reduce((n, d) => n + (d.mountTo?.length ?? 0), 0));
    await expectMirrorComplete(mirror, PREFIX, index);
  }, 300_000);

  describe('bad bases: clear errors, no bundle left behind', () => {
    const packB = (extra: string[], to: string): Promise<BaleRun> =>
      runBale([...update.packArgsB(), ...extra, '--to', to, '--json']);
    const errorOf = (r: BaleRun): { code: string; message: string } =>
      (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;

    const malformed: Record<string, string> = {
      'not YAML': '- name: [unclosed\n',
      'a digest that is not one': '- name: openshift/release\n  dmap:\n    "sha256:abc": []\n',
      'an unknown field': '- name: openshift/release\n  dmap: {}\n  extra: 1\n',
      'a CSV row short of a column': 'name,digest,tag\nopenshift/release,sha256:' + 'a'.repeat(64) + '\n',
      'a tag naming two digests':
        '- name: openshift/release\n  dmap:\n    "sha256:' +
        'a'.repeat(64) +
        '": ["x"]\n    "sha256:' +
        'b'.repeat(64) +
        '": ["x"]\n',
    };
    for (const [what, text] of Object.entries(malformed)) {
      it(`--have with ${what}: E_SNAPSHOT_INVALID naming the file`, async () => {
        const file = join(setup.work, `bad-${what.replace(/\W+/g, '-')}.yaml`);
        await writeFile(file, text);
        const to = join(setup.work, `out-${what.replace(/\W+/g, '-')}`);
        const r = await packB(['--have', file], to);
        expect(r.code).toBe(1);
        expect(errorOf(r).code).toBe('E_SNAPSHOT_INVALID');
        expect(errorOf(r).message).toContain(file);
        expect(await pathExists(to)).toBe(false);
      });
    }

    it('--have naming no file: E_IO naming it', async () => {
      const file = join(setup.work, 'no-such-snapshot.yaml');
      const r = await packB(['--have', file], join(setup.work, 'out-nofile'));
      expect(r.code).toBe(1);
      expect(errorOf(r).code).toBe('E_IO');
      expect(errorOf(r).message).toContain(file);
    });

    it('--since a directory that is not a bundle, or that does not exist: a usage error', async () => {
      const emptyDir = join(setup.work, 'not-a-bundle');
      await mkdir(emptyDir, { recursive: true });
      const r = await packB(['--since', emptyDir], join(setup.work, 'out-notbundle'));
      expect(r.code).toBe(2);
      expect(errorOf(r).message).toContain('is not a bale bundle');
      const r2 = await packB(['--since', join(setup.work, 'nowhere')], join(setup.work, 'out-nowhere'));
      expect(r2.code).toBe(2);
      expect(errorOf(r2).message).toContain('does not exist');
      expect(await pathExists(join(setup.work, 'out-notbundle'))).toBe(false);
    });

    it('--since a bundle whose bundle.json differs from its SHA256SUMS: E_BUNDLE_CORRUPT', async () => {
      const copy = join(setup.work, 'a-tampered');
      await cp(dirs.a, copy, { recursive: true });
      const text = await readFile(join(copy, 'bundle.json'), 'utf8');
      await writeFile(join(copy, 'bundle.json'), text.replace('"created": "', '"created": "1'));
      const r = await packB(['--since', copy], join(setup.work, 'out-tampered'));
      expect(r.code).toBe(1);
      expect(errorOf(r).code).toBe('E_BUNDLE_CORRUPT');
      expect(errorOf(r).message).toContain('SHA256SUMS');
    });

    it('--since a file that is not a bundle index: E_BUNDLE_INVALID', async () => {
      const file = join(setup.work, 'bundle-lookalike.json');
      await writeFile(file, '{"schema": "something/else"}');
      const r = await packB(['--since', file], join(setup.work, 'out-lookalike'));
      expect(r.code).toBe(1);
      expect(errorOf(r).code).toBe('E_BUNDLE_INVALID');
    });

    it('--have and --since together: a usage error', async () => {
      const r = await packB(
        ['--have', dirs.snapshot || 'x', '--since', dirs.a],
        join(setup.work, 'out-both'),
      );
      expect(r.code).toBe(2);
      expect(r.stderr + r.stdout).toMatch(/mutually exclusive|both/);
    });
  });
});
