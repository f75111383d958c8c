/**
 * Issue 16, end to end against real registries (the Debian docker-registry): a synthetic
 * release whose payload and two components (one a manifest list) carry cosign-format
 * Sigstore signatures made with a per-run ECDSA key, pushed next to them as
 * `sha256-<hex>.sig`. pack carries them; verify accepts them with the right
 * --sigstore-key, refuses another key and a signature for another digest (a real bundle
 * edited and re-sealed); unpack pushes them and skopeo finds them by tag in the mirror.
 * The UpdateService and ImageTagMirrorSet unpack writes are checked field by field and
 * applied to the loopback API server (test/helpers/fake-kube.ts: a loopback stand-in,
 * since no Kubernetes API server can run here). The manifest-list component arrives
 * whole with `unpack --to`, and the printed `oc image mirror` keeps lists and children.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readTarItems, reseal, writeTarVolume } from '../../../fixtures/hostile/damage.js';
import {
  buildSigstoreArtifact,
  generateSigstoreKeyPair,
  signFixtureRelease,
  type SignedFixtureImage,
} from '../../../fixtures/sigstore.js';
import { blobEntryPath, manifestEntryPath } from '../../../src/bundle/entry-path.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { sha256Hex } from '../../../src/digest.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { sigstoreSignatureTag } from '../../../src/signature/sigstore.js';
import { runBale } from '../../helpers/bale.js';
import { startFakeKube, type FakeKube } from '../../helpers/fake-kube.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { pushTinyImage, registryFlags, skopeo, skopeoInspectRaw } from '../../helpers/skopeo.js';
import { expectMirrorComplete, oneJson, sha256 } from './unpack-helpers.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

/** A parsed YAML file, read field by field. */
interface Yaml {
  apiVersion: string;
  kind: string;
  metadata: Record<string, string>;
  spec: Record<string, unknown> & {
    releases: string;
    graphDataImage: string;
    replicas: number;
    imageTagMirrors: unknown[];
    imageDigestMirrors: unknown[];
  };
}
interface SigstoreJson {
  repository: string;
  tag: string;
  digest: string;
  signs: string;
  state: string;
  reason?: string;
}
interface VerifyJson {
  ok: boolean;
  problems: { code: string; message: string; entry?: string }[];
  sigstore?: SigstoreJson[];
  trust?: { items: { kind: string; name: string; anchor: string }[]; unanchored: number };
}

describe('a current cluster: Sigstore signatures, update service, tag mirrors, multi-arch', () => {
  let setup: FixtureSetup;
  let dest: TestRegistry;
  let kube: FakeKube;
  let signed: SignedFixtureImage[];
  let key: ReturnType<typeof generateSigstoreKeyPair>;
  let keyPath: string;
  let wrongKeyPath: string;
  let bundleDir: string;
  let index: BundleIndex;
  let extraDigest: string;
  let extraRef: string;

  /** `bale verify|unpack DIR` with the fixture's release keyring and the given Sigstore key. */
  const keyed = (
    cmd: 'verify' | 'unpack',
    dir: string,
    sigstoreKey: string,
    ...extra: string[]
  ): string[] => [cmd, dir, '--keyring', setup.fx.keyringPath, '--sigstore-key', sigstoreKey, ...extra];

  beforeAll(async () => {
    setup = await setupFixture({ seed: 1616 });
    key = generateSigstoreKeyPair('ecdsa-p256');
    keyPath = join(setup.work, 'cosign.pub');
    wrongKeyPath = join(setup.work, 'other.pub');
    await writeFile(keyPath, key.publicKeyPem);
    await writeFile(wrongKeyPath, generateSigstoreKeyPair('ecdsa-p256').publicKeyPem);
    const client = new RegistryClient({ tlsVerify: false });
    try {
      // The payload, component 0 (an image) and component 2 (a Docker manifest list).
      signed = await signFixtureRelease(client, setup.fx, setup.reg.host, key, { components: [0, 2] });
    } finally {
      await client.close();
    }
    // Content referenced by tag: an extra image the cluster pulls as app:v1.
    extraRef = `${setup.reg.host}/apps/app:v1`;
    const tiny = await pushTinyImage(setup.reg, 'apps/app:v1', 5);
    extraDigest = tiny.manifest.digest;
    bundleDir = join(setup.work, 'bundle');
    const r = await runBale([
      ...setup.packArgs(),
      '--image',
      extraRef,
      '--sigstore-key',
      keyPath,
      // the extra image is anchored by the bundle signature (no release signature reaches it)
      '--sign-key',
      setup.fx.privateKeyPath,
      '--to',
      bundleDir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    index = await readBundleJson(bundleDir);
    dest = await startRegistry();
    kube = await startFakeKube();
  }, 300_000);
  afterAll(async () => {
    await kube?.stop();
    await dest?.stop();
    await setup?.stop();
  });

  it('pack carries each .sig under its tag in the signed image repository, recorded in bundle.json', () => {
    expect(signed).toHaveLength(3);
    const records = index.sigstore ?? [];
    expect(records).toHaveLength(3);
    for (const s of signed) {
      const r = records.find((x) => x.signs === s.imageDigest);
      expect(r, s.imageDigest).toBeDefined();
      expect(r?.repository).toBe('openshift/release');
      expect(r?.tag).toBe(sigstoreSignatureTag(s.imageDigest));
      expect(r?.digest).toBe(s.artifact.manifest.digest);
      expect(r?.state).toBe('valid');
      expect(r?.source).toBe(`${setup.reg.host}/${s.repository}`);
      expect(r?.payloads).toEqual(
        [sha256Hex(s.artifact.payloads[0] ?? Buffer.alloc(0))].map((h) => `sha256:${h}`),
      );
      // an image of the bundle like any other, with its manifest, config, payload and tag entries
      const img = index.images.find((i) => i.digest === s.artifact.manifest.digest);
      expect(img?.tags).toEqual([r?.tag]);
      const paths = new Set(index.entries.map((e) => e.path));
      expect(paths.has(manifestEntryPath('openshift/release', r?.tag ?? ''))).toBe(true);
      for (const d of s.artifact.blobs.keys())
        expect(paths.has(blobEntryPath('openshift/release', d))).toBe(true);
    }
  });

  it('verify accepts them with the right --sigstore-key, each listed valid and anchored by the release signature', async () => {
    const r = await runBale([
      ...keyed('verify', bundleDir, keyPath, '--index-keyring', setup.fx.keyringPath),
      '--json',
    ]);
    const report = oneJson<VerifyJson>(r);
    expect(r.code, JSON.stringify(report.problems)).toBe(0);
    expect(report.sigstore?.map((s) => s.state)).toEqual(['valid', 'valid', 'valid']);
    for (const s of index.sigstore ?? []) {
      const item = report.trust?.items.find((i) => i.name === `openshift/release@${s.digest}`);
      expect(item?.anchor).toBe('release-signature');
      const tag = report.trust?.items.find((i) => i.name === `openshift/release:${s.tag}`);
      expect(tag?.anchor).toBe('release-signature');
    }
    const text = await runBale([
      ...keyed('verify', bundleDir, keyPath, '--index-keyring', setup.fx.keyringPath),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Sigstore signatures (3, checked with the Sigstore key(s)):');
    expect(text.stdout).toMatch(
      /openshift\/release:sha256-[0-9a-f]{64}\.sig \(sha256:[0-9a-f]{64}\) signs sha256:[0-9a-f]{64}: valid, key sha256:/,
    );
  });

  it('inspect lists them as recorded (shallow) and with their checked state (--deep)', async () => {
    const shallow = await runBale(['inspect', bundleDir]);
    expect(shallow.code, shallow.stderr).toBe(0);
    expect(shallow.stdout).toContain(
      'Sigstore signatures (3, as recorded at pack time; not checked without --deep):',
    );
    expect(shallow.stdout).toMatch(
      /openshift\/release:sha256-[0-9a-f]{64}\.sig \(sha256:[0-9a-f]{64}\) signs sha256:[0-9a-f]{64}: valid$/m,
    );
    const deep = await runBale([
      'inspect',
      bundleDir,
      '--deep',
      '--keyring',
      setup.fx.keyringPath,
      '--sigstore-key',
      wrongKeyPath,
      '--json',
    ]);
    expect(deep.code).toBe(1);
    const report = oneJson<{ sigstore: { tag: string; recorded: string; state: string }[] }>(deep);
    expect(report.sigstore.map((s) => [s.recorded, s.state])).toEqual([
      ['valid', 'wrong-key'],
      ['valid', 'wrong-key'],
      ['valid', 'wrong-key'],
    ]);
  });

  it('verify refuses them with another key (exit 1, each named), and --allow-unsigned accepts them visibly', async () => {
    const r = await runBale([...keyed('verify', bundleDir, wrongKeyPath), '--json']);
    expect(r.code).toBe(1);
    const report = oneJson<VerifyJson>(r);
    expect(report.sigstore?.map((s) => s.state)).toEqual(['wrong-key', 'wrong-key', 'wrong-key']);
    for (const s of index.sigstore ?? []) {
      expect(
        report.problems.some((p) => p.code === 'E_SIGNATURE_UNTRUSTED' && p.message.includes(s.tag)),
        JSON.stringify(report.problems),
      ).toBe(true);
    }
    const allowed = await runBale([...keyed('verify', bundleDir, wrongKeyPath), '--allow-unsigned']);
    expect(allowed.code, allowed.stdout).toBe(0);
    expect(allowed.stdout).toContain('NOT VERIFIED (no --sigstore-key verifies it)');
    expect(allowed.stdout).toMatch(
      /openshift\/release@sha256:[0-9a-f]{64}: UNSIGNED \(accepted with --allow-unsigned\)/,
    );
  });

  it('verify refuses a validly signed .sig for another digest (bundle edited and re-sealed): E_TRUST_MISMATCH', async () => {
    const copy = join(setup.work, 'forged');
    await cp(bundleDir, copy, { recursive: true });
    const victim = signed[1];
    if (!victim) throw new Error('no signed component');
    const forged = buildSigstoreArtifact({
      imageDigest: victim.imageDigest,
      dockerReference: victim.dockerReference,
      key,
      signatures: [{ signedDigest: setup.fx.release.digest }],
    });
    const ix = await readBundleJson(copy);
    const repo = 'openshift/release';
    const tag = sigstoreSignatureTag(victim.imageDigest);
    const rec = ix.sigstore?.find((s) => s.tag === tag);
    const img = ix.images.find((i) => i.digest === rec?.digest);
    if (!rec || !img) throw new Error('no record');
    const last = ix.volumes[ix.volumes.length - 1]?.name ?? '';
    const added: { name: string; body: Buffer }[] = [];
    for (const [d, bytes] of forged.blobs) {
      if (!ix.entries.some((e) => e.path === blobEntryPath(repo, d)))
        added.push({ name: blobEntryPath(repo, d), body: bytes });
    }
    const mBlob = blobEntryPath(repo, forged.manifest.digest);
    added.push({ name: mBlob, body: forged.manifest.bytes });
    for (const a of added)
      ix.entries.push({
        path: a.name,
        type: 'file',
        size: a.body.length,
        sha256: sha256Hex(a.body),
        volume: last,
      });
    const mLink = manifestEntryPath(repo, forged.manifest.digest);
    ix.entries.push({ path: mLink, type: 'hardlink', size: 0, linkTarget: mBlob, volume: last });
    const tagEntry = manifestEntryPath(repo, tag);
    for (const e of ix.entries) if (e.path === tagEntry) e.linkTarget = forged.manifest.digest;
    img.digest = forged.manifest.digest;
    rec.digest = forged.manifest.digest;
    rec.payloads = [`sha256:${sha256Hex(forged.payloads[0] ?? Buffer.alloc(0))}`];
    for (const v of ix.volumes) {
      const path = join(copy, v.name);
      let items = (await readTarItems(path)).map((it) =>
        it.header.name === tagEntry
          ? { ...it, header: { ...it.header, linkname: forged.manifest.digest } }
          : it,
      );
      if (v.name === last) {
        items = [
          ...items,
          ...added.map((a) => ({
            header: { name: a.name, type: 'file' as const, mode: 0o644 },
            body: a.body,
          })),
          {
            header: { name: mLink, type: 'link' as const, linkname: mBlob, mode: 0o644 },
            body: Buffer.alloc(0),
          },
        ];
      }
      await writeTarVolume(path, items);
      v.entries = items.length;
    }
    await reseal(copy, ix);
    const r = await runBale([...keyed('verify', copy, keyPath), '--json']);
    expect(r.code).toBe(1);
    const report = oneJson<VerifyJson>(r);
    expect(report.problems.map((p) => p.code)).not.toContain('E_BUNDLE_CORRUPT');
    expect(report.problems.map((p) => p.code)).not.toContain('E_DIGEST_MISMATCH');
    const hit = report.problems.find((p) => p.code === 'E_TRUST_MISMATCH' && p.message.includes(tag));
    expect(hit, JSON.stringify(report.problems, null, 1)).toBeDefined();
    expect(hit?.message).toContain(`signature is for ${setup.fx.release.digest}`);
    expect(report.sigstore?.find((s) => s.tag === tag)?.state).toBe('wrong-digest');
    // never excused, not even by --allow-unsigned
    const allowed = await runBale([...keyed('verify', copy, keyPath), '--allow-unsigned']);
    expect(allowed.code).toBe(1);
    // and unpack puts no manifest or tag in the mirror, in two passes (nothing sent) and in
    // the single pass (blobs may be sent while the volumes are read; none is referenced)
    for (const [i, mode] of [['--verify-first'], []].entries()) {
      const u = await runBale([
        'unpack',
        ...mode,
        copy,
        '--keyring',
        setup.fx.keyringPath,
        '--sigstore-key',
        keyPath,
        '--to',
        `${dest.host}/forged${i}`,
        '--dest-tls-verify=false',
        '--manifests-to-dir',
        join(setup.work, `forged-manifests${i}`),
      ]);
      expect(u.code).not.toBe(0);
      expect(u.stderr.slice(-800), u.stderr.slice(-800)).toMatch(/E_VERIFY_FAILED/);
      // the forged artifact is not there by its tag, nor the release by its tag
      const releaseTag = ix.releases?.[0]?.tag ?? 'missing';
      for (const ref of [`${repo}:${tag}`, `openshift/release:${releaseTag}`]) {
        const there = await skopeo([
          'inspect',
          '--raw',
          ...registryFlags(dest, ''),
          `docker://${dest.host}/forged${i}/${ref}`,
        ]);
        expect(there.code, ref).not.toBe(0);
      }
    }
  });

  it('unpack pushes the .sig artifacts (skopeo finds them by tag), writes and applies UpdateService and ITMS', async () => {
    const manifests = join(setup.work, 'manifests');
    const kubeconfig = await kube.writeKubeconfig(join(setup.work, 'kubeconfig'));
    const r = await runBale([
      ...keyed('unpack', bundleDir, keyPath, '--index-keyring', setup.fx.keyringPath),
      '--to',
      `${dest.host}/mirror`,
      '--dest-tls-verify=false',
      '--manifests-to-dir',
      manifests,
      '--apply-manifests',
      '--kubeconfig',
      kubeconfig,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const s of index.sigstore ?? []) {
      const raw = await skopeoInspectRaw(`mirror/${s.repository}:${s.tag}`, dest);
      expect(sha256(raw), s.tag).toBe(s.digest);
    }
    // every digest the bundle names, manifest lists and their children included
    await expectMirrorComplete(dest, 'mirror', index);
    const listComponent = setup.fx.components[2];
    expect(listComponent?.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');

    const mirror = `${dest.host}/mirror`;
    const us = parseYaml(await readFile(join(manifests, 'updateservice.yaml'), 'utf8')) as Yaml;
    expect(us.apiVersion).toBe('updateservice.operator.openshift.io/v1');
    expect(us.kind).toBe('UpdateService');
    expect(us.metadata).toEqual({ name: 'bale-update-service', namespace: 'openshift-update-service' });
    expect(us.spec.releases).toBe(`${mirror}/openshift/release`);
    expect(us.spec.graphDataImage).toBe(`${mirror}/openshift/graph-data@${setup.fx.graphData.digest}`);
    expect(us.spec.replicas).toBe(2);
    expect(Object.keys(us.spec).sort()).toEqual(['graphDataImage', 'releases', 'replicas']);

    const itms = parseYaml(await readFile(join(manifests, 'imagetagmirrorset.yaml'), 'utf8')) as Yaml;
    expect(itms.apiVersion).toBe('config.openshift.io/v1');
    expect(itms.kind).toBe('ImageTagMirrorSet');
    expect(itms.metadata).toEqual({ name: 'bale-tag-mirror' });
    expect(itms.spec.imageTagMirrors).toEqual([
      { source: `${setup.reg.host}/apps/app`, mirrors: [`${mirror}/apps/app`] },
    ]);
    // the IDMS stays for digests, the extra image included
    const idms = parseYaml(await readFile(join(manifests, 'imagedigestmirrorset.yaml'), 'utf8')) as Yaml;
    expect(idms.spec.imageDigestMirrors).toContainEqual({
      source: `${setup.reg.host}/apps/app`,
      mirrors: [`${mirror}/apps/app`],
    });
    expect(sha256(await skopeoInspectRaw(`mirror/apps/app:v1`, dest))).toBe(extraDigest);

    // applied to the loopback API server, as written
    expect(kube.get('updateservices', 'bale-update-service', 'openshift-update-service')?.spec).toEqual(
      us.spec,
    );
    expect(kube.get('imagetagmirrorsets', 'bale-tag-mirror')?.spec).toEqual(itms.spec);
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')?.spec).toEqual(idms.spec);
  });

  it('unpack --to-dir prints oc image mirror commands that keep every list and child, for the release and its .sig tags', async () => {
    const out = join(setup.work, 'oc-dir');
    const r = await runBale([
      ...keyed('unpack', bundleDir, keyPath, '--index-keyring', setup.fx.keyringPath),
      '--to-dir',
      out,
      '--manifests-to-dir',
      join(setup.work, 'manifests-dir'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = oneJson<{ nextSteps: string[] }>(r);
    const version = setup.fx.release.version;
    expect(result.nextSteps).toEqual([
      `oc image mirror --keep-manifest-list=true --from-dir=${out} 'file://openshift/release:${version}*' REGISTRY/REPOSITORY`,
      `oc image mirror --keep-manifest-list=true --from-dir=${out} 'file://openshift/release:sha256-*' REGISTRY/REPOSITORY`,
    ]);
    // the directory holds the manifest list and every child by digest
    const list = index.images.find((i) => i.digest === setup.fx.components[2]?.digest);
    expect(list?.children?.length).toBeGreaterThan(1);
    for (const d of [list?.digest ?? '', ...(list?.children ?? [])]) {
      const bytes = await readFile(join(out, 'v2', 'openshift', 'release', 'manifests', d));
      expect(sha256(bytes)).toBe(d);
    }
  });
});
