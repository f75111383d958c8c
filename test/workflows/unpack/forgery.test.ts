/**
 * Issue 12: a media attacker edits a real packed bundle and re-seals every checksum.
 * For each forgery class, `bale verify` exits 1 naming the item and the missing anchor,
 * and `bale unpack` (to a registry, to a directory and with --apply-manifests against
 * the loopback API server, all at once) refuses: nothing pushed, nothing written in the
 * target directory or the manifests directory, nothing applied.
 */
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORGERIES, dropIndexSignature } from '../../../fixtures/hostile/forge.js';
import { runBale } from '../../helpers/bale.js';
import { startFakeKube, type FakeKube } from '../../helpers/fake-kube.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { oneJson, packFixture, storedFiles, type PackedBundle } from './unpack-helpers.js';

interface VerifyJson {
  ok: boolean;
  problems: { code: string; message: string; entry?: string }[];
  trust?: { index: { state: string }; unanchored: number; allowUnsigned: boolean };
}

async function listing(dir: string): Promise<string[]> {
  return readdir(dir, { recursive: true }).catch(() => []);
}

describe('forged bundles (re-sealed): verify names the unanchored item, unpack changes nothing', () => {
  let b: PackedBundle;
  let dest: TestRegistry;
  let kube: FakeKube;
  let kubeconfig: string;
  let n = 0;

  beforeAll(async () => {
    b = await packFixture(77);
    dest = await startRegistry();
    kube = await startFakeKube();
    kubeconfig = await kube.writeKubeconfig(join(b.setup.work, 'kubeconfig'));
  });
  afterAll(async () => {
    await kube?.stop();
    await dest?.stop();
    await b?.setup.stop();
  });

  async function forgedCopy(forge: (dir: string) => Promise<unknown>, source?: string): Promise<string> {
    const copy = join(b.setup.work, `forged-${++n}`);
    await cp(source ?? b.bundleDir, copy, { recursive: true });
    await forge(copy);
    return copy;
  }

  it('the genuine bundle verifies, every item anchored, bundle.json reported as not signed', async () => {
    const r = await runBale(['verify', b.bundleDir, '--keyring', b.keyring]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('bundle.json is not signed');
    expect(r.stdout).toContain('Every image, tag and cluster object is anchored');
    expect(r.stdout).toMatch(/image openshift\/release@sha256:[0-9a-f]{64}: release signature/);
    expect(r.stdout).toMatch(/image openshift\/graph-data@sha256:[0-9a-f]{64}: graph-data signature/);
    expect(r.stdout).toMatch(
      /object ConfigMap openshift-config-managed\/sha256-[0-9a-f]{64} .*: release signature/,
    );
  });

  for (const [name, forge] of Object.entries(FORGERIES)) {
    it(`${name}: verify exits 1 naming it; unpack pushes, writes and applies nothing`, async () => {
      let expected: { code: string; names: string } | undefined;
      const copy = await forgedCopy(async (d) => {
        expected = await forge(d);
      });
      if (!expected) throw new Error('no expectation');
      // The checksums are sealed: only the trust checks can tell.
      const sums = await runBale(['verify', copy, '--keyring', b.keyring, '--json']);
      expect(sums.code).toBe(1);
      const report = oneJson<VerifyJson>(sums);
      const hit = report.problems.find(
        (p) => p.code === expected?.code && `${p.message} ${p.entry ?? ''}`.includes(expected.names),
      );
      expect(hit, JSON.stringify(report.problems, null, 1)).toBeDefined();
      expect(report.problems.map((p) => p.code)).not.toContain('E_BUNDLE_CORRUPT');

      const text = await runBale(['verify', copy, '--keyring', b.keyring]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(expected.code);
      // Nothing from the media reaches the terminal raw.
      // eslint-disable-next-line no-control-regex
      expect(text.stdout + text.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);

      const toDir = join(copy, '..', `to-dir-${n}`);
      const manifests = join(copy, '..', `manifests-${n}`);
      const writesBefore = kube.writes().length;
      const u = await runBale([
        'unpack',
        copy,
        '--to',
        `${dest.host}/forged-${n}`,
        '--dest-tls-verify=false',
        '--to-dir',
        toDir,
        '--manifests-to-dir',
        manifests,
        '--apply-manifests',
        '--kubeconfig',
        kubeconfig,
        '--keyring',
        b.keyring,
      ]);
      expect(u.code).toBe(1);
      expect(u.stderr).toContain('E_VERIFY_FAILED');
      expect(u.stderr).toContain(expected.code);
      expect(await storedFiles(dest)).toEqual([]);
      expect((await listing(toDir)).filter((f) => !f.startsWith('.bale'))).toEqual([]);
      expect(await listing(manifests)).toEqual([]);
      expect(kube.writes().length).toBe(writesBefore);
      expect(kube.count()).toBe(0);
    });
  }

  it('--allow-unsigned accepts an unanchored object in verify, but unpack --apply-manifests still refuses its kind', async () => {
    const copy = await forgedCopy(async (d) => {
      await FORGERIES['a ClusterVersion added under manifests/']?.(d);
    });
    const v = await runBale(['verify', copy, '--keyring', b.keyring, '--allow-unsigned', '--json']);
    expect(v.code).toBe(0);
    const report = oneJson<VerifyJson>(v);
    expect(report.trust).toMatchObject({ allowUnsigned: true, unanchored: 1 });
    const t = await runBale(['verify', copy, '--keyring', b.keyring, '--allow-unsigned']);
    expect(t.stdout).toContain('ClusterVersion version (manifests/clusterversion.yaml): UNSIGNED');
    expect(t.stdout).toContain('ACCEPTED because of --allow-unsigned');

    const writesBefore = kube.writes().length;
    const u = await runBale([
      'unpack',
      copy,
      '--to',
      `${dest.host}/allowed`,
      '--dest-tls-verify=false',
      '--manifests-to-dir',
      join(copy, '..', 'manifests-allowed'),
      '--apply-manifests',
      '--kubeconfig',
      kubeconfig,
      '--keyring',
      b.keyring,
      '--allow-unsigned',
    ]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('E_UNANCHORED');
    expect(u.stderr).toContain('manifests/clusterversion.yaml: ClusterVersion version');
    expect(await storedFiles(dest)).toEqual([]);
    expect(kube.writes().length).toBe(writesBefore);
  });

  it('a signed bundle whose bundle.json.asc was deleted fails with --index-keyring, and says "not signed" without it', async () => {
    const signed = join(b.setup.work, 'signed');
    const p = await runBale([
      ...b.setup.packArgs(),
      '--to',
      signed,
      '--quiet',
      '--sign-key',
      b.setup.fx.privateKeyPath,
    ]);
    expect(p.code, p.stderr).toBe(0);
    const ok = await runBale(['verify', signed, '--keyring', b.keyring, '--index-keyring', b.keyring]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain(
      'bundle.json is signed: bundle.json.asc verifies with the --index-keyring, key',
    );

    const copy = await forgedCopy(dropIndexSignature, signed);
    const v = await runBale(['verify', copy, '--keyring', b.keyring, '--index-keyring', b.keyring]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('bundle.json is not signed (no bundle.json.asc), but --index-keyring asks');
    const plain = await runBale(['verify', copy, '--keyring', b.keyring]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('bundle.json is not signed (no bundle.json.asc)');
    const u = await runBale([
      'unpack',
      copy,
      '--to',
      `${dest.host}/unsigned-index`,
      '--dest-tls-verify=false',
      '--manifests-to-dir',
      join(copy, '..', 'manifests-unsigned-index'),
      '--keyring',
      b.keyring,
      '--index-keyring',
      b.keyring,
    ]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('E_SIGNATURE_NONE');
    expect(await storedFiles(dest)).toEqual([]);
  });
});
