/**
 * `--arch multi`: a release whose pullspec names a manifest list of payloads (the `multi`
 * release) is carried whole (the list and every child), tagged `<version>-multi`, verified
 * by its signature over the list's digest, and unpacked with every digest intact.
 * Against real registries; the list is built here over the fixture's payload image.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePackArgs, releaseIdentity } from '../../../fixtures/index.js';
import { writeSignatureStore } from '../../../fixtures/signature-store.js';
import { signAtomic } from '../../../src/signature/sign.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { skopeoInspectRaw } from '../../helpers/skopeo.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

let setup: FixtureSetup;
let dest: TestRegistry;
let listDigest: string;
let bundle: string;

beforeAll(async () => {
  setup = await setupFixture({ seed: 31 });
  dest = await startRegistry({ auth: 'none', tls: false });
  const { fx, reg } = setup;
  // The payload image as the registry serves it, then a list naming it for linux/amd64.
  const got = await fetch(`${reg.url}/v2/${fx.release.repository}/manifests/${fx.release.digest}`, {
    headers: { accept: fx.release.mediaType },
  });
  expect(got.status).toBe(200);
  const child = Buffer.from(await got.arrayBuffer());
  const list = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX_TYPE,
      manifests: [
        {
          mediaType: fx.release.mediaType,
          digest: fx.release.digest,
          size: child.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    }),
  );
  listDigest = `sha256:${createHash('sha256').update(list).digest('hex')}`;
  const put = await fetch(`${reg.url}/v2/${fx.release.repository}/manifests/${fx.release.version}-multi`, {
    method: 'PUT',
    headers: { 'content-type': INDEX_TYPE },
    body: list,
  });
  expect(put.status, await put.text()).toBe(201);
  // Signed as Red Hat signs a multi release: the list's digest, the `-multi` identity.
  const sig = await signAtomic({
    digest: listDigest,
    identity: releaseIdentity(fx.release.version, 'multi'),
    privateKeyArmored: fx.keys[0]!.privateKeyArmored,
  });
  await writeSignatureStore(fx.storeDir, listDigest, [sig]);
  const args = fixturePackArgs(fx);
  args[args.indexOf('--release') + 1] = `${reg.host}/${fx.release.repository}@${listDigest}`;
  bundle = join(setup.work, 'multi');
  const p = await runBale([...args, '--arch', 'multi', '--to', bundle, '--quiet']);
  expect(p.code, p.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await dest?.stop();
  await setup?.stop();
});

describe('pack --arch multi', () => {
  it('carries the list whole, tagged <version>-multi, with its child', async () => {
    const ix = await readBundleJson(bundle);
    const rel = ix.releases?.[0];
    expect(rel).toMatchObject({
      architecture: 'multi',
      digest: listDigest,
      tag: `${setup.fx.release.version}-multi`,
      repository: 'openshift/release',
    });
    const img = ix.images.find((i) => i.digest === listDigest);
    expect(img?.mediaType).toBe(INDEX_TYPE);
    expect(img?.children).toEqual([setup.fx.release.digest]);
    const paths = new Set(ix.entries.map((e) => e.path));
    expect(paths.has(`v2/openshift/release/manifests/${listDigest}`)).toBe(true);
    expect(paths.has(`v2/openshift/release/manifests/${setup.fx.release.digest}`)).toBe(true);
  });

  it('verifies (the signature over the list anchors it and its payload)', async () => {
    const v = await runBale(['verify', bundle, '--keyring', setup.fx.keyringPath]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a single-architecture --arch does not take the multi release', async () => {
    const args = fixturePackArgs(setup.fx);
    args[args.indexOf('--release') + 1] = `${setup.reg.host}/${setup.fx.release.repository}@${listDigest}`;
    const p = await runBale([...args, '--arch', 'arm64', '--to', join(setup.work, 'wrong-arch'), '--quiet']);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/multi/);
  });

  it('unpack --to leaves the list and its child in the mirror by digest', async () => {
    const u = await runBale([
      'unpack',
      bundle,
      '--keyring',
      setup.fx.keyringPath,
      '--to',
      `${dest.host}/mirror`,
      '--dest-tls-verify=false',
      '--manifests-to-dir',
      join(setup.work, 'multi-manifests'),
      '--quiet',
    ]);
    expect(u.code, u.stderr).toBe(0);
    const raw = await skopeoInspectRaw(`mirror/openshift/release@${listDigest}`, dest);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(listDigest);
    const child = await skopeoInspectRaw(`mirror/openshift/release@${setup.fx.release.digest}`, dest);
    expect(child.length).toBeGreaterThan(0);
    const tagged = await skopeoInspectRaw(`mirror/openshift/release:${setup.fx.release.version}-multi`, dest);
    expect(tagged).toBe(raw);
  });
});
