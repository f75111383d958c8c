/**
 * bale pack end to end (the compiled CLI) against a real registry with htpasswd auth
 * over TLS (--ca-file): oc's v2/ layout, the signature ConfigMap, graph-data,
 * checksums, --json, --sign-key, --no-images, a wrong keyring, and the refusals.
 */
import { lstat, mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseManifest } from '../../../src/registry/manifest.js';
import { signatureConfigMap } from '../../../src/signature/configmap.js';
import { parseKeyring } from '../../../src/signature/keyring.js';
import { generateKey, verifyDetached } from '../../../src/signature/sign.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { freePort } from '../../helpers/tmp.js';
import {
  expectFinishedBundle,
  extractAlone,
  fileSha256,
  listVolume,
  readIndex,
  volumeNames,
} from './helpers.js';

const SEED = 31;

describe('bale pack (htpasswd + TLS source registry)', () => {
  let s: FixtureSetup;
  let bundle: string;
  let packStdout = '';

  beforeAll(async () => {
    console.log(`pack-cli: fixture seed ${SEED}`);
    s = await setupFixture({ auth: 'htpasswd', tls: true, seed: SEED });
    bundle = join(s.work, 'bundle');
    const r = await runBale([...s.packArgs(), '--to', bundle, '--json', '--sign-key', s.fx.privateKeyPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    packStdout = r.stdout;
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('--json prints exactly one JSON document on stdout', () => {
    const doc = JSON.parse(packStdout) as Record<string, unknown>;
    expect(packStdout.trimStart().startsWith('{')).toBe(true);
    expect(packStdout.endsWith('}\n')).toBe(true);
    expect(doc.ok).toBe(true);
    expect((doc.release as { digest: string }).digest).toBe(s.fx.release.digest);
    expect(doc.signed).toBe(true);
  });

  it('writes a finished bundle that sha256sum -c accepts, each volume extractable alone', async () => {
    await expectFinishedBundle(bundle, { signed: true });
    const index = await readIndex(bundle);
    const volumes = await volumeNames(bundle);
    expect(index.volumes.map((v) => v.name)).toEqual(volumes);
    for (const v of index.volumes) {
      expect((await stat(join(bundle, v.name))).size).toBe(v.size);
      expect(await fileSha256(join(bundle, v.name))).toBe(v.sha256);
      const listed = await listVolume(join(bundle, v.name));
      expect(listed.length).toBe(v.entries);
      await extractAlone(join(bundle, v.name), join(s.work, `alone-${v.name}`));
    }
  });

  it("lays the images out as oc's v2/ mirror: tags, hard-linked manifests, blobs once, lists whole", async () => {
    const out = join(s.work, 'tree');
    const allEntries: string[] = [];
    for (const v of await volumeNames(bundle)) {
      await extractAlone(join(bundle, v), out);
      allEntries.push(...(await listVolume(join(bundle, v))));
    }
    expect(new Set(allEntries).size).toBe(allEntries.length); // no entry twice, in any volume
    expect(allEntries.every((e) => /^(v2|config|signatures)\//.test(e))).toBe(true);

    const { fx } = s;
    const repo = join(out, 'v2/openshift/release');
    const tag = `${fx.release.version}-x86_64`;
    const expectedTags = new Map([[tag, fx.release.digest]]);
    for (const c of fx.components) expectedTags.set(`${tag}-${c.name}`, c.digest);
    const tagNames = (await readdir(join(repo, 'manifests'))).filter((n) => !n.startsWith('sha256:'));
    expect(tagNames.sort()).toEqual([...expectedTags.keys()].sort());
    for (const [t, digest] of expectedTags) {
      expect((await lstat(join(repo, 'manifests', t))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(repo, 'manifests', t))).toBe(digest);
    }

    // Every manifest of the release and its components (index children too) is there,
    // as a blob and hard-linked under manifests/, with its config and layers.
    const releaseImages = fx.allImages.filter(
      (i) => i.repository === 'ocp/release' || i.repository === 'ocp/release-art',
    );
    expect(releaseImages.some((i) => i.mediaType.includes('index') || i.mediaType.includes('list'))).toBe(
      true,
    );
    const wantBlobs = new Set<string>();
    for (const img of releaseImages) {
      const m = await lstat(join(repo, 'manifests', img.digest));
      const b = await lstat(join(repo, 'blobs', img.digest));
      expect(m.isFile() && b.isFile()).toBe(true);
      expect(m.ino).toBe(b.ino);
      wantBlobs.add(img.digest);
      const parsed = parseManifest(await readFile(join(repo, 'blobs', img.digest)));
      for (const child of parsed.manifests) wantBlobs.add(child.digest);
      for (const d of [...(parsed.config ? [parsed.config] : []), ...parsed.layers]) wantBlobs.add(d.digest);
    }
    const blobs = (await readdir(join(repo, 'blobs'))).sort();
    expect(blobs).toEqual([...wantBlobs].sort());
    for (const name of blobs) expect(`sha256:${await fileSha256(join(repo, 'blobs', name))}`).toBe(name);

    // graph-data and its signature image, with their tags, in their own repository.
    const g = join(out, 'v2/openshift/graph-data');
    expect(await readlink(join(g, 'manifests', 'latest'))).toBe(fx.graphData.digest);
    expect(await readlink(join(g, 'manifests', fx.graphData.signatureTag))).toBe(
      fx.graphData.signatureDigest,
    );
    for (const d of [fx.graphData.digest, fx.graphData.signatureDigest]) {
      expect((await lstat(join(g, 'manifests', d))).ino).toBe((await lstat(join(g, 'blobs', d))).ino);
      const parsed = parseManifest(await readFile(join(g, 'blobs', d)));
      for (const l of [...(parsed.config ? [parsed.config] : []), ...parsed.layers]) {
        expect(`sha256:${await fileSha256(join(g, 'blobs', l.digest))}`).toBe(l.digest);
      }
    }
  });

  it('writes the signature ConfigMap exactly as formats.md §3, and the raw signatures', async () => {
    const { fx } = s;
    const out = join(s.work, 'tree-cm');
    for (const v of await volumeNames(bundle)) await extractAlone(join(bundle, v), out);
    const hex = fx.release.digest.slice(7);
    const storeSigs = [
      await readFile(join(fx.storeDir, `sha256=${hex}`, 'signature-1')),
      await readFile(join(fx.storeDir, `sha256=${hex}`, 'signature-2')),
    ];
    const text = await readFile(join(out, 'config', `signature-sha256-${hex.slice(0, 16)}.yaml`), 'utf8');
    expect(text).toBe(signatureConfigMap(fx.release.digest, storeSigs));
    const cm = YAML.parse(text) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      binaryData: Record<string, string>;
    };
    expect(cm.apiVersion).toBe('v1');
    expect(cm.kind).toBe('ConfigMap');
    expect(cm.metadata).toEqual({
      name: `sha256-${hex}`,
      namespace: 'openshift-config-managed',
      labels: { 'release.openshift.io/verification-signatures': '' },
    });
    expect(Object.keys(cm.binaryData)).toEqual([`sha256-${hex}-1`, `sha256-${hex}-2`]);
    expect(Buffer.from(cm.binaryData[`sha256-${hex}-1`] ?? '', 'base64').equals(storeSigs[0] as Buffer)).toBe(
      true,
    );
    expect(Buffer.from(cm.binaryData[`sha256-${hex}-2`] ?? '', 'base64').equals(storeSigs[1] as Buffer)).toBe(
      true,
    );
    expect(
      (await readFile(join(out, 'signatures', `sha256=${hex}`, 'signature-1'))).equals(
        storeSigs[0] as Buffer,
      ),
    ).toBe(true);
    expect(
      (await readFile(join(out, 'signatures', `sha256=${hex}`, 'signature-2'))).equals(
        storeSigs[1] as Buffer,
      ),
    ).toBe(true);
    expect((await readdir(join(out, 'signatures'))).sort()).toEqual(
      [`sha256=${hex}`, `sha256=${fx.graphData.digest.slice(7)}`].sort(),
    );
  });

  it('bundle.json lists entries, volumes, images, signatures and graph-data', async () => {
    const { fx } = s;
    const index = await readIndex(bundle);
    expect(index.schema).toBe('bale.bundle/v2');
    expect(index.releases[0]).toMatchObject({
      version: fx.release.version,
      architecture: 'x86_64',
      digest: fx.release.digest,
      source: `${s.reg.host}/ocp/release`,
      repository: 'openshift/release',
      tag: `${fx.release.version}-x86_64`,
    });
    const names = index.images.map((i) => i.name);
    expect(names).toEqual([
      'release',
      ...fx.components.map((c) => c.name),
      'graph-data',
      'graph-data-signature',
    ]);
    for (const c of fx.components) {
      const img = index.images.find((i) => i.name === c.name);
      expect(img?.digest).toBe(c.digest);
      expect(img?.source).toBe(`${s.reg.host}/ocp/release-art`);
    }
    expect(index.signatures.map((x) => x.keyId).sort()).toEqual(
      fx.keys.map((k) => k.keyId.toUpperCase()).sort(),
    );
    expect(index.signatures.every((x) => x.identity === fx.releaseIdentity)).toBe(true);
    expect(index.graphData).toMatchObject({
      revision: fx.graphData.revision,
      digest: fx.graphData.digest,
      tag: 'latest',
      signatureTag: fx.graphData.signatureTag,
      signatureDigest: fx.graphData.signatureDigest,
    });
    expect(index.graphData?.signatures.length).toBe(1);
    const listed = (await Promise.all(index.volumes.map((v) => listVolume(join(bundle, v.name))))).flat();
    expect(index.entries.map((e) => e.path).sort()).toEqual(listed.sort());
    for (const e of index.entries) {
      expect(index.volumes.some((v) => v.name === e.volume)).toBe(true);
      if (e.type === 'file') expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(index.manifests).toEqual([`config/signature-sha256-${fx.release.digest.slice(7, 23)}.yaml`]);
  });

  it('--sign-key writes bundle.json.asc that bale verify --index-keyring accepts', async () => {
    const keyring = await parseKeyring(await readFile(s.fx.keyringPath, 'utf8'), s.fx.keyringPath);
    const check = await verifyDetached(
      await readFile(join(bundle, 'bundle.json')),
      await readFile(join(bundle, 'bundle.json.asc'), 'utf8'),
      [keyring],
    );
    expect(check.ok).toBe(true);
    expect(check.keyId?.toUpperCase()).toBe(s.fx.keys[0]?.keyId.toUpperCase());
    const r = await runBale([
      'verify',
      bundle,
      '--keyring',
      s.fx.keyringPath,
      '--index-keyring',
      s.fx.keyringPath,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      signatures: { kind: string; path: string; ok: boolean }[];
      trust: { index: { state: string } };
    };
    expect(report.ok).toBe(true);
    expect(report.signatures.some((x) => x.path === 'bundle.json.asc' && x.ok)).toBe(true);
    expect(report.trust.index.state).toBe('signed');
  });

  it('--no-images carries only the ConfigMap and the signatures, and verifies', async () => {
    const to = join(s.work, 'sig-only');
    const r = await runBale([...s.packArgs(), '--to', to, '--no-images', '--quiet']);
    expect(r.code).toBe(0);
    await expectFinishedBundle(to);
    const index = await readIndex(to);
    const hex = s.fx.release.digest.slice(7);
    expect(index.entries.map((e) => e.path).sort()).toEqual(
      [
        `config/signature-sha256-${hex.slice(0, 16)}.yaml`,
        `signatures/sha256=${hex}/signature-1`,
        `signatures/sha256=${hex}/signature-2`,
      ].sort(),
    );
    expect(index.images).toEqual([]);
    expect(index.releases[0]).toBeUndefined(); // no release image under v2/ to point at
    expect(index.signatures.map((x) => [x.digest, x.identity])).toEqual([
      [s.fx.release.digest, s.fx.releaseIdentity],
      [s.fx.release.digest, s.fx.releaseIdentity],
    ]);
    const v = await runBale(['verify', to, '--keyring', s.fx.keyringPath]);
    expect(v.stdout).toMatch(/^OK: /);
    expect(v.code).toBe(0);
  });

  it('a wrong keyring stops the pack: exit 1, keys and stores named, nothing that looks finished', async () => {
    const other = await generateKey('Not The Release Key', 'nobody@example.com');
    const keyring = join(s.work, 'wrong-keyring.asc');
    await writeFile(keyring, other.publicKeyArmored);
    const args = s.packArgs();
    args[args.indexOf('--keyring') + 1] = keyring;
    const to = join(s.work, 'wrong-key');
    const r = await runBale([...args, '--to', to]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_SIGNATURE_NONE]');
    expect(r.stderr).toContain(other.keyId.toUpperCase());
    expect(r.stderr).toContain(keyring);
    expect(r.stderr).toContain(`file://${s.fx.storeDir}`);
    // At most the resumable state (.bale/ with the release metadata blobs), no volume, index or sums.
    const left = await readdir(to).catch(() => [] as string[]);
    expect(left.filter((n) => n !== '.bale')).toEqual([]);
  });

  it('refuses a malformed reference as a usage error (exit 2) before touching the target', async () => {
    const to = join(s.work, 'bad-ref');
    const r = await runBale(['pack', '--release', 'Bad Ref::x', '--to', to]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--release');
    expect(r.stderr).toContain('[E_USAGE]');
    await expect(stat(to)).rejects.toThrow();
  });

  it('refuses a non-empty directory that is not a bundle, and a finished bundle', async () => {
    const busy = join(s.work, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'mine');
    const r1 = await runBale([...s.packArgs(), '--to', busy]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/is not empty and holds no bale bundle \[E_CONFIG\]/);
    expect(await readdir(busy)).toEqual(['notes.txt']);

    // The finished bundle with another command (not signed, another volume size): refused, untouched.
    const before = await readFile(join(bundle, 'SHA256SUMS'), 'utf8');
    const r2 = await runBale([...s.packArgs(), '--to', bundle]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/already holds a finished bundle of other content \(signed\) \[E_CONFIG\]/);
    const r3 = await runBale([
      ...s.packArgs(),
      '--to',
      bundle,
      '--sign-key',
      s.fx.privateKeyPath,
      '--volume-size',
      '1MiB',
    ]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(
      /already holds a finished bundle of other content \(another --volume-size\) \[E_CONFIG\]/,
    );
    expect(await readFile(join(bundle, 'SHA256SUMS'), 'utf8')).toBe(before);
    await expectFinishedBundle(bundle, { signed: true });
  });

  it('the same command again on its finished bundle (a crash just as it ended) keeps it, exit 0', async () => {
    const volumesBefore = await readFile(join(bundle, 'SHA256SUMS'), 'utf8');
    const r = await runBale([...s.packArgs(), '--to', bundle, '--json', '--sign-key', s.fx.privateKeyPath]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      contentBytes: number;
      stats: { blobsDownloaded: number; bytesDownloaded: number; volumesReused: number };
    };
    // Only what pack must read to plan at all (release config and payload layer,
    // graph-data config and signature layer); no volume is written again.
    expect(out.stats.blobsDownloaded).toBeLessThanOrEqual(4);
    expect(out.stats.bytesDownloaded).toBeLessThan(out.contentBytes / 4);
    expect(out.stats.volumesReused).toBeGreaterThan(0);
    const volumeLines = (text: string) => text.split('\n').filter((l) => l.includes('volume-'));
    expect(volumeLines(await readFile(join(bundle, 'SHA256SUMS'), 'utf8'))).toEqual(
      volumeLines(volumesBefore),
    );
    await expectFinishedBundle(bundle, { signed: true });
    const v = await runBale(['verify', bundle, '--keyring', s.fx.keyringPath]);
    expect(v.code, v.stdout).toBe(0);
  });

  it('bad credentials fail with E_AUTH and never print the password', async () => {
    const password = 'wrong-Pa55word-that-must-not-leak';
    const authFile = join(s.work, 'bad-auth.json');
    const auth = Buffer.from(`${s.reg.username ?? ''}:${password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [s.reg.host]: { auth } } }));
    const args = s.packArgs();
    args[args.indexOf('--registry-config') + 1] = authFile;
    const to = join(s.work, 'bad-auth');
    const r = await runBale([...args, '--to', to, '--json']);
    await expect(stat(to)).rejects.toThrow(); // nothing staged: nothing left behind
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_AUTH]');
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('E_AUTH');
    for (const text of [r.stdout, r.stderr]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(auth);
      expect(text).not.toContain(s.reg.password ?? '<none>');
    }
  });

  it('an unreachable registry fails with a clear message (exit 1)', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await runBale(
      [
        'pack',
        '--release',
        `127.0.0.1:${port}/ocp/release:4.18.7-x86_64`,
        '--to',
        join(s.work, 'unreachable'),
        '--keyring',
        s.fx.keyringPath,
        '--signature-store',
        `file://${s.fx.storeDir}`,
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toMatch(
      /cannot reach 127\.0\.0\.1:\d+.*ECONNREFUSED.*\[E_(NETWORK|RETRIES_EXHAUSTED)\]/,
    );
    await expect(stat(join(s.work, 'unreachable'))).rejects.toThrow();
    console.log(`unreachable registry: failed after ${Date.now() - started} ms`);
  }, 100_000);
});
