/**
 * bale mirror against real registries: a source holding the synthetic release, a
 * mirror behind a fault proxy that only logs (so every write at the destination is
 * seen). Without --confirm nothing is written; with it every digest is there for
 * skopeo; a second run uploads nothing; a wrong keyring refuses before any write; the
 * signature ConfigMap reaches the loopback API server; unreachable registries fail clearly.
 */
import { readFile, readdir } from 'node:fs/promises';
import YAML from 'yaml';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { mirror, type MirrorOptions } from '../../../src/workflows/mirror/index.js';
import { startFakeKube, type FakeKube } from '../../helpers/fake-kube.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { registryFlags, skopeoOk } from '../../helpers/skopeo.js';
import { freePort } from '../../helpers/tmp.js';

const PREFIX = 'ocp4';
const WRONG_KEYRING = new URL('../../../keys/redhat-release-key-2.asc', import.meta.url).pathname;
const writes = (p: FaultProxy) => p.log.filter((r) => /^(PUT|POST|PATCH|DELETE)$/.test(r.method));

describe('bale mirror', () => {
  let fx: FixtureSetup;
  let dest: TestRegistry;
  let proxy: FaultProxy;
  let kube: FakeKube;
  let base: MirrorOptions;

  beforeAll(async () => {
    fx = await setupFixture({ auth: 'none' });
    dest = await startRegistry({ auth: 'none' });
    proxy = await startFaultProxy(dest.host);
    kube = await startFakeKube();
    base = {
      release: fx.fx.release.ref,
      graphData: fx.fx.graphData.ref,
      to: `${proxy.host}/${PREFIX}`,
      keyrings: [fx.fx.keyringPath],
      signatureStores: [`file://${fx.fx.storeDir}`],
      srcTlsVerify: false,
      destTlsVerify: false,
      env: {},
      homeDir: fx.work,
      retry: { attempts: 1 },
    };
  }, 120_000);
  afterAll(async () => {
    await kube?.stop();
    await proxy?.stop();
    await dest?.stop();
    await fx?.stop();
  });

  it('a wrong keyring refuses before anything is written at the destination', async () => {
    proxy.log.length = 0;
    const err = await mirror({ ...base, keyrings: [WRONG_KEYRING], confirm: true }).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_SIGNATURE_NONE')).toBe(true);
    expect(writes(proxy)).toEqual([]);
  }, 60_000);

  it('without --confirm: prints the plan, verifies the signatures, writes nothing', async () => {
    proxy.log.length = 0;
    const r = await mirror(base);
    expect(r.confirmed).toBe(false);
    expect(r.copied).toBeUndefined();
    expect(r.signatures.release).toBeGreaterThan(0);
    expect(r.signatures.graphData).toBeGreaterThan(0);
    expect(r.plan.present).toEqual([]);
    const digests = r.plan.copy.map((c) => c.digest);
    expect(digests).toContain(fx.fx.release.digest);
    for (const c of fx.fx.components) expect(digests).toContain(c.digest);
    expect(proxy.log.length).toBeGreaterThan(0);
    expect(writes(proxy)).toEqual([]);
  }, 60_000);

  it('--confirm copies every digest unchanged and applies the signature ConfigMap; a second run uploads nothing', async () => {
    proxy.log.length = 0;
    const sigDir = join(fx.work, 'sigs');
    const manifestsDir = join(fx.work, 'manifests');
    const r = await mirror({
      ...base,
      confirm: true,
      releaseImageSignatureToDir: sigDir,
      manifestsToDir: manifestsDir,
      applyReleaseImageSignature: true,
      kubeconfig: await kube.writeKubeconfig(join(fx.work, 'kubeconfig')),
    });
    expect(r.copied?.images).toBe(r.plan.copy.length);
    expect(r.copied?.blobsUploaded).toBeGreaterThan(0);
    expect(r.copied?.tags).toBe(r.plan.copy.reduce((n, c) => n + c.tags.length, 0));
    expect(writes(proxy).length).toBeGreaterThan(0);
    for (const c of r.plan.copy) {
      const raw = await skopeoOk([
        'inspect',
        '--raw',
        ...registryFlags(dest, ''),
        `docker://${dest.host}/${PREFIX}/${c.name}@${c.digest}`,
      ]);
      expect(raw.stdout.length).toBeGreaterThan(0);
      for (const t of c.tags) {
        const byTag = await skopeoOk([
          'inspect',
          '--format',
          '{{.Digest}}',
          ...registryFlags(dest, ''),
          `docker://${dest.host}/${PREFIX}/${c.name}:${t}`,
        ]);
        expect(byTag.stdout.trim()).toBe(c.digest);
      }
    }
    // Cluster side: the ConfigMap of the verified signatures, applied and written; the IDMS written only.
    expect(r.cluster?.applied.map((a) => [a.kind, a.action])).toEqual([['ConfigMap', 'created']]);
    const hex = fx.fx.release.digest.slice('sha256:'.length);
    expect(kube.get('configmaps', `sha256-${hex}`, 'openshift-config-managed')).toBeDefined();
    expect(await readdir(sigDir)).toEqual([`signature-sha256-${hex.slice(0, 16)}.yaml`]);
    expect((await readdir(manifestsDir)).sort()).toEqual(
      ['imagedigestmirrorset.yaml', `signature-sha256-${hex.slice(0, 16)}.yaml`, 'updateservice.yaml'].sort(),
    );
    // The graph-data image was mirrored with the release: the UpdateService names both in the mirror.
    const us = YAML.parse(await readFile(join(manifestsDir, 'updateservice.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: Record<string, string>;
      spec: Record<string, unknown>;
    };
    expect(us.apiVersion).toBe('updateservice.operator.openshift.io/v1');
    expect(us.kind).toBe('UpdateService');
    expect(us.metadata).toEqual({ name: 'bale-update-service', namespace: 'openshift-update-service' });
    expect(us.spec).toEqual({
      graphDataImage: `${proxy.host}/${PREFIX}/openshift/graph-data@${fx.fx.graphData.digest}`,
      releases: `${proxy.host}/${PREFIX}/openshift/release`,
      replicas: 2,
    });
    const idms = await readFile(join(manifestsDir, 'imagedigestmirrorset.yaml'), 'utf8');
    expect(idms).toContain(`${proxy.host}/${PREFIX}/openshift/release`);

    proxy.log.length = 0;
    const again = await mirror({ ...base, confirm: true });
    expect(again.plan.copy).toEqual([]);
    expect(again.plan.present.length).toBe(r.plan.copy.length);
    expect(again.copied).toMatchObject({ images: 0, blobsUploaded: 0, manifests: 0, tags: 0 });
    expect(writes(proxy)).toEqual([]);
  }, 180_000);

  it('cluster side: --apply without --confirm is a usage error; --dry-run is server-side and stores nothing; --apply-manifests adds the IDMS', async () => {
    const kubeconfig = await kube.writeKubeconfig(join(fx.work, 'kubeconfig-2'));
    const early = await mirror({ ...base, applyManifests: true, kubeconfig }).catch((e: unknown) => e);
    expect(isBaleError(early, 'E_USAGE')).toBe(true);

    const before = kube.writes().length;
    const dry = await mirror({
      ...base,
      confirm: true,
      applyManifests: true,
      dryRun: true,
      manifestsToDir: join(fx.work, 'dry-manifests'),
      kubeconfig,
    });
    expect(dry.cluster?.files).toEqual([]);
    const dryWrites = kube.writes().slice(before);
    expect(dryWrites.length).toBeGreaterThan(0);
    expect(dryWrites.every((w) => w.query.dryRun === 'All')).toBe(true);
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')).toBeUndefined();

    const real = await mirror({ ...base, confirm: true, applyManifests: true, kubeconfig });
    expect(real.cluster?.failed).toBe(false);
    const idms = kube.get('imagedigestmirrorsets', 'bale-mirror');
    expect(JSON.stringify(idms)).toContain(`${proxy.host}/${PREFIX}/openshift/release`);
    expect(JSON.stringify(idms)).toContain(`${fx.reg.host}/${fx.fx.release.repository}`);
    // applied to the loopback API server with the rest
    const us = kube.get('updateservices', 'bale-update-service', 'openshift-update-service');
    expect(us?.spec).toMatchObject({
      graphDataImage: `${proxy.host}/${PREFIX}/openshift/graph-data@${fx.fx.graphData.digest}`,
    });
  }, 120_000);

  it('a run that fails halfway (a manifest PUT refused) resumes: the next run copies only the rest', async () => {
    const other = await startRegistry({ auth: 'none' });
    const flaky = await startFaultProxy(other.host, {
      rules: [
        { method: 'PUT', path: /\/manifests\//, skip: 3, times: 1, fault: { kind: 'status', status: 400 } },
      ],
    });
    try {
      const o = { ...base, to: `${flaky.host}/${PREFIX}`, confirm: true };
      const failed = await mirror(o).catch((e: unknown) => e);
      expect(isBaleError(failed)).toBe(true);
      const firstUploads = flaky.log.filter(
        (r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'),
      ).length;
      expect(firstUploads).toBeGreaterThan(0);
      const resumed = await mirror(o);
      expect(resumed.plan.present.length).toBeGreaterThan(0);
      expect(resumed.copied?.images).toBe(resumed.plan.copy.length);
      const all = resumed.plan.present.length + resumed.plan.copy.length;
      const after = await mirror({ ...o, confirm: false });
      expect(after.plan.present.length).toBe(all);
      expect(after.plan.copy).toEqual([]);
    } finally {
      await flaky.stop();
      await other.stop();
    }
  }, 180_000);

  it('an abort during the copy stops it: the run rejects with the reason and no tag is written', async () => {
    const other = await startRegistry({ auth: 'none' });
    const watched = await startFaultProxy(other.host);
    try {
      const ac = new AbortController();
      const reason = new Error('stop now');
      const run = mirror({ ...base, to: `${watched.host}/${PREFIX}`, confirm: true, signal: ac.signal });
      const started = Date.now();
      while (!watched.log.some((r) => r.method === 'POST') && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 5));
      }
      ac.abort(reason);
      await expect(run).rejects.toBe(reason);
      await new Promise((r) => setTimeout(r, 500));
      await watched.settled();
      // The work stopped with the abort: no request reaches the destination any more.
      const seen = watched.log.length;
      await new Promise((r) => setTimeout(r, 1500));
      expect(watched.log.length).toBe(seen);
      const tagPuts = watched.log.filter(
        (r) => r.method === 'PUT' && /\/manifests\/(?!sha256:)/.test(r.path),
      );
      expect(tagPuts).toEqual([]);
    } finally {
      await watched.stop();
      await other.stop();
    }
  }, 120_000);

  it('an unreachable destination or source: a clear error, nothing written', async () => {
    const port = await freePort();
    const down = await mirror({ ...base, to: `127.0.0.1:${port}/x`, confirm: true }).catch((e: unknown) => e);
    expect(isBaleError(down)).toBe(true);
    expect((down as Error).message).toContain(`127.0.0.1:${port}`);
    const noSource = await mirror({
      ...base,
      release: `127.0.0.1:${port}/ocp/release:4.0.0`,
      graphData: undefined,
      confirm: true,
    }).catch((e: unknown) => e);
    expect(isBaleError(noSource)).toBe(true);
    expect((noSource as Error).message).toContain(`127.0.0.1:${port}`);
  }, 60_000);
});
