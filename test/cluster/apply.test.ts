/**
 * Cluster apply (src/cluster/apply.ts).
 *
 * No real Kubernetes API server can be installed on these machines, so cluster apply is
 * tested against this loopback server that implements the ConfigMap and
 * custom-resource endpoints (test/helpers/fake-kube.ts): real HTTPS, real bearer-token
 * auth, real @kubernetes/client-node requests, with resourceVersion, 404/409 semantics,
 * dryRun=All and injected failures.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyFailed, applyObjects, type ApplyResult, type KubeObject } from '../../src/cluster/apply.js';
import { loadKubeConfig } from '../../src/cluster/kube-client.js';
import { mirrorConfig } from '../../src/cluster/mirror-config.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const NS = 'openshift-config-managed';
const HEX_A = 'a'.repeat(64);
const HEX_B = 'b'.repeat(64);

function signatureCm(hex: string, sigs: string[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `sha256-${hex}`,
      namespace: NS,
      labels: { 'release.openshift.io/verification-signatures': '' },
    },
    binaryData: Object.fromEntries(
      sigs.map((s, i) => [`sha256-${hex}-${i + 1}`, Buffer.from(s).toString('base64')]),
    ),
  };
}

const idms = (): KubeObject =>
  mirrorConfig({
    sources: [
      {
        source: 'quay.io/openshift-release-dev/ocp-release',
        mirror: 'mirror.example:5000/openshift/release',
      },
    ],
  }).idms as unknown as KubeObject;

let kube: FakeKube;
let dir: string;
let kubeconfigPath: string;

async function apply(
  objects: KubeObject[],
  o: { overwrite?: boolean; dryRun?: boolean } = {},
): Promise<ApplyResult[]> {
  const { kubeConfig } = await loadKubeConfig({ kubeconfig: kubeconfigPath, env: {}, homeDir: dir });
  return applyObjects(objects, {
    kubeConfig,
    overwrite: o.overwrite ?? false,
    dryRun: o.dryRun ?? false,
    retry: { attempts: 3, baseDelayMs: 1 },
  });
}

beforeAll(async () => {
  dir = await makeTempDir('bale-apply-');
});
afterAll(async () => {
  await removeTempDir(dir);
});
beforeEach(async () => {
  kube = await startFakeKube();
  kubeconfigPath = await kube.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterEach(async () => {
  await kube.stop();
});

describe('applyObjects', () => {
  it('creates a ConfigMap and a cluster-scoped custom resource over HTTPS with the bearer token', async () => {
    const results = await apply([signatureCm(HEX_A, ['sig-one', 'sig-two']), idms()]);
    expect(results).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: `sha256-${HEX_A}`, action: 'created' },
      {
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageDigestMirrorSet',
        name: 'bale-mirror',
        action: 'created',
      },
    ]);
    const stored = kube.get('configmaps', `sha256-${HEX_A}`, NS);
    expect(stored?.binaryData).toEqual({
      [`sha256-${HEX_A}-1`]: Buffer.from('sig-one').toString('base64'),
      [`sha256-${HEX_A}-2`]: Buffer.from('sig-two').toString('base64'),
    });
    expect(stored?.metadata.labels).toEqual({ 'release.openshift.io/verification-signatures': '' });
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')?.spec).toEqual({
      imageDigestMirrors: [
        {
          source: 'quay.io/openshift-release-dev/ocp-release',
          mirrors: ['mirror.example:5000/openshift/release'],
        },
      ],
    });
    expect(kube.log.every((r) => r.authorized)).toBe(true);
    expect(kube.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /api/v1/namespaces/${NS}/configmaps`,
      'POST /apis/config.openshift.io/v1/imagedigestmirrorsets',
    ]);
    expect(applyFailed(results)).toBe(false);
  });

  it('reports an identical object as unchanged and sends no write', async () => {
    await apply([signatureCm(HEX_A, ['sig-one']), idms()]);
    const before = kube.writes().length;
    const results = await apply([signatureCm(HEX_A, ['sig-one']), idms()]);
    expect(results.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    expect(kube.writes().length).toBe(before);
  });

  it('ignores labels and annotations others added when comparing, but not a changed value of ours', async () => {
    const live = signatureCm(HEX_A, ['sig-one']);
    live.metadata.labels = { ...live.metadata.labels, extra: 'x' };
    live.metadata.annotations = { 'someone/else': 'y' };
    kube.put(live);
    expect((await apply([signatureCm(HEX_A, ['sig-one'])]))[0]?.action).toBe('unchanged');

    const relabelled = signatureCm(HEX_A, ['sig-one']);
    relabelled.metadata.labels = { 'release.openshift.io/verification-signatures': 'other' };
    kube.put(relabelled);
    const [r] = await apply([signatureCm(HEX_A, ['sig-one'])]);
    expect(r?.action).toBe('conflict');
    expect(r?.message).toContain('metadata.labels');
  });

  it('reports a different object as a conflict without --overwrite and leaves it alone', async () => {
    kube.put(signatureCm(HEX_A, ['old-signature']));
    const rvBefore = kube.get('configmaps', `sha256-${HEX_A}`, NS)?.metadata.resourceVersion;
    const results = await apply([signatureCm(HEX_A, ['new-signature'])]);
    expect(results[0]).toMatchObject({ action: 'conflict', name: `sha256-${HEX_A}`, namespace: NS });
    expect(results[0]?.message).toMatch(/binaryData/);
    expect(results[0]?.message).toMatch(/--overwrite/);
    expect(applyFailed(results)).toBe(true);
    expect(kube.writes()).toEqual([]);
    expect(kube.get('configmaps', `sha256-${HEX_A}`, NS)?.metadata.resourceVersion).toBe(rvBefore);
  });

  it('replaces a different object with --overwrite, carrying resourceVersion and keeping others’ labels', async () => {
    const live = signatureCm(HEX_A, ['old-signature', 'old-2']);
    live.metadata.annotations = { 'someone/else': 'kept' };
    kube.put(live);
    const rvBefore = kube.get('configmaps', `sha256-${HEX_A}`, NS)?.metadata.resourceVersion;
    const results = await apply([signatureCm(HEX_A, ['new-signature'])], { overwrite: true });
    expect(results[0]?.action).toBe('updated');
    const put = kube.writes().find((r) => r.method === 'PUT');
    expect(put?.path).toBe(`/api/v1/namespaces/${NS}/configmaps/sha256-${HEX_A}`);
    expect((put?.body as KubeObject).metadata.resourceVersion).toBe(rvBefore);
    const stored = kube.get('configmaps', `sha256-${HEX_A}`, NS);
    expect(stored?.binaryData).toEqual({
      [`sha256-${HEX_A}-1`]: Buffer.from('new-signature').toString('base64'),
    });
    expect(stored?.metadata.annotations).toEqual({ 'someone/else': 'kept' });
    expect(stored?.metadata.resourceVersion).not.toBe(rvBefore);
  });

  it('updates a custom resource whose spec differs, with --overwrite', async () => {
    const old = idms();
    old.spec = {
      imageDigestMirrors: [
        { source: 'quay.io/openshift-release-dev/ocp-release', mirrors: ['old.example/x'] },
      ],
    };
    kube.put(old);
    expect((await apply([idms()]))[0]?.action).toBe('conflict');
    expect((await apply([idms()], { overwrite: true }))[0]?.action).toBe('updated');
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')?.spec).toEqual(idms().spec);
  });

  it('treats fields the server added to a custom resource spec as unchanged (defaulting)', async () => {
    const live = idms();
    live.spec = { ...(live.spec as object), defaultedByServer: true };
    kube.put(live);
    expect((await apply([idms()]))[0]?.action).toBe('unchanged');
    // ...but a missing mirror is a difference.
    const fewer = idms();
    fewer.spec = {
      imageDigestMirrors: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: [] }],
    };
    kube.put(fewer);
    expect((await apply([idms()]))[0]?.action).toBe('conflict');
  });

  it('works over plain HTTP with insecure-skip-tls-verify too', async () => {
    const plain = await startFakeKube({ tls: false });
    try {
      const p = await plain.writeKubeconfig(join(dir, 'kubeconfig-http'));
      const { kubeConfig } = await loadKubeConfig({ kubeconfig: p, env: {}, homeDir: dir });
      const [r] = await applyObjects([signatureCm(HEX_A, ['s'])], {
        kubeConfig,
        overwrite: false,
        dryRun: false,
      });
      expect(r?.action).toBe('created');
      expect(plain.url).toMatch(/^http:/);
      expect(plain.get('configmaps', `sha256-${HEX_A}`, NS)).toBeDefined();
    } finally {
      await plain.stop();
    }
  });

  it('creates when the read answers 404 (and only then)', async () => {
    const results = await apply([signatureCm(HEX_A, ['s'])]);
    expect(results[0]?.action).toBe('created');
    const reads = kube.log.filter((r) => r.method === 'GET' && r.path.includes('/configmaps/'));
    expect(reads.map((r) => r.status)).toEqual([404]);
  });

  it('treats 409 AlreadyExists on create (a race) as existing: re-reads and compares', async () => {
    const name = `sha256-${HEX_A}`;
    // Another client creates the same object between our read and our create.
    kube.inject({ method: 'POST', name, times: 1, before: () => kube.put(signatureCm(HEX_A, ['s'])) });
    const results = await apply([signatureCm(HEX_A, ['s'])]);
    expect(results[0]?.action).toBe('unchanged');
    const posts = kube.writes().filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([409]);

    // Same race with different content: a conflict, not an error.
    const name2 = `sha256-${HEX_B}`;
    kube.inject({
      method: 'POST',
      name: name2,
      times: 1,
      before: () => kube.put(signatureCm(HEX_B, ['theirs'])),
    });
    const [r2] = await apply([signatureCm(HEX_B, ['ours'])]);
    expect(r2?.action).toBe('conflict');
  });

  it('re-reads and retries when the object changes between read and replace (409 on PUT)', async () => {
    kube.put(signatureCm(HEX_A, ['old']));
    kube.inject({
      method: 'PUT',
      name: `sha256-${HEX_A}`,
      times: 1,
      before: () => kube.put(signatureCm(HEX_A, ['other-writer'])),
    });
    const [r] = await apply([signatureCm(HEX_A, ['ours'])], { overwrite: true });
    expect(r?.action).toBe('updated');
    expect(
      kube
        .writes()
        .filter((w) => w.method === 'PUT')
        .map((w) => w.status),
    ).toEqual([409, 200]);
    expect(kube.get('configmaps', `sha256-${HEX_A}`, NS)?.binaryData).toEqual({
      [`sha256-${HEX_A}-1`]: Buffer.from('ours').toString('base64'),
    });
  });

  it('reports 403 naming the object and the missing permission, and still applies the rest', async () => {
    kube.inject({ method: 'POST', resource: 'configmaps', name: `sha256-${HEX_A}`, status: 403 });
    const results = await apply([signatureCm(HEX_A, ['s']), signatureCm(HEX_B, ['t']), idms()]);
    expect(results.map((r) => r.action)).toEqual(['error', 'created', 'created']);
    expect(results[0]?.status).toBe(403);
    expect(results[0]?.message).toContain(`ConfigMap ${NS}/sha256-${HEX_A}`);
    expect(results[0]?.message).toMatch(/not permitted to create/);
    expect(results[0]?.message).toMatch(/lacks permission/);
    expect(kube.get('configmaps', `sha256-${HEX_A}`, NS)).toBeUndefined();
    expect(kube.get('configmaps', `sha256-${HEX_B}`, NS)).toBeDefined();
    expect(applyFailed(results)).toBe(true);
  });

  it('retries a 500 once and succeeds', async () => {
    kube.inject({ method: 'POST', resource: 'configmaps', status: 500, times: 1 });
    const results = await apply([signatureCm(HEX_A, ['s'])]);
    expect(results[0]?.action).toBe('created');
    expect(kube.writes().map((r) => r.status)).toEqual([500, 201]);
  });

  it('reports a persistent 500 as an error for that object and continues', async () => {
    kube.inject({ method: 'GET', resource: 'configmaps', name: `sha256-${HEX_A}`, status: 500 });
    const results = await apply([signatureCm(HEX_A, ['s']), signatureCm(HEX_B, ['t'])]);
    expect(results[0]).toMatchObject({ action: 'error', status: 500 });
    expect(results[0]?.message).toMatch(/cannot read ConfigMap/);
    expect(results[1]?.action).toBe('created');
    // 3 attempts on the failing read, then moved on.
    expect(kube.log.filter((r) => r.path.endsWith(`sha256-${HEX_A}`)).length).toBe(3);
  });

  it('dry run: reports would-create / would-update, sends dryRun=All, stores nothing', async () => {
    kube.put(signatureCm(HEX_B, ['old']));
    const rvBefore = kube.get('configmaps', `sha256-${HEX_B}`, NS)?.metadata.resourceVersion;
    const countBefore = kube.count();
    const results = await apply([signatureCm(HEX_A, ['s']), signatureCm(HEX_B, ['new']), idms()], {
      dryRun: true,
      overwrite: true,
    });
    expect(results.map((r) => r.action)).toEqual(['would-create', 'would-update', 'would-create']);
    const writes = kube.writes();
    expect(writes.length).toBe(3);
    expect(writes.every((w) => w.query.dryRun === 'All')).toBe(true);
    expect(kube.count()).toBe(countBefore);
    expect(kube.get('configmaps', `sha256-${HEX_A}`, NS)).toBeUndefined();
    expect(kube.get('configmaps', `sha256-${HEX_B}`, NS)?.metadata.resourceVersion).toBe(rvBefore);
  });

  it('dry run without --overwrite still reports conflicts and sends nothing for them', async () => {
    kube.put(signatureCm(HEX_B, ['old']));
    const results = await apply([signatureCm(HEX_B, ['new'])], { dryRun: true });
    expect(results[0]?.action).toBe('conflict');
    expect(kube.writes()).toEqual([]);
  });

  it('reports a kind the cluster does not serve (older cluster without IDMS) and applies the rest', async () => {
    kube.disableGroupVersion('config.openshift.io/v1');
    const cfg = mirrorConfig({ sources: [{ source: 'quay.io/a/b', mirror: 'm.example/a/b' }] });
    const results = await apply([idms(), cfg.icsp as unknown as KubeObject]);
    expect(results[0]?.action).toBe('error');
    expect(results[0]?.message).toMatch(/does not serve config\.openshift\.io\/v1/);
    expect(results[1]?.action).toBe('created');
  });

  it('puts a namespaced object without a namespace into the context namespace', async () => {
    kubeconfigPath = await kube.writeKubeconfig(join(dir, 'kubeconfig-ns'), { namespace: 'team-a' });
    const cm = signatureCm(HEX_A, ['s']);
    delete cm.metadata.namespace;
    const [r] = await apply([cm]);
    expect(r).toMatchObject({ action: 'created', namespace: 'team-a' });
    expect(kube.get('configmaps', `sha256-${HEX_A}`, 'team-a')).toBeDefined();
    expect(cm.metadata.namespace).toBeUndefined(); // the caller's object is not mutated
  });

  it('never puts the token in results when the server rejects it', async () => {
    const wrong = 'sekrit-wrong-token-value-123456';
    kubeconfigPath = await kube.writeKubeconfig(join(dir, 'kubeconfig-wrong'), { token: wrong });
    const results = await apply([signatureCm(HEX_A, ['s']), idms()]);
    expect(results.every((r) => r.action === 'error')).toBe(true);
    const text = JSON.stringify(results);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(kube.token);
    expect(results[0]?.status).toBe(401);
    expect(kube.log.length).toBeGreaterThan(0);
    expect(kube.log.every((r) => !r.authorized && r.status === 401)).toBe(true);
  });

  it('reports an unreachable API server per object, without the token', async () => {
    const token = kube.token;
    await kube.stop();
    const results = await apply([signatureCm(HEX_A, ['s']), signatureCm(HEX_B, ['t'])]);
    expect(results.map((r) => r.action)).toEqual(['error', 'error']);
    expect(JSON.stringify(results)).not.toContain(token);
    kube = await startFakeKube(); // for afterEach
  });

  it('an abort while the first object is written: no request after it, the run ends with the reason', async () => {
    const { kubeConfig } = await loadKubeConfig({ kubeconfig: kubeconfigPath, env: {}, homeDir: dir });
    const ac = new AbortController();
    const reason = new Error('interrupted');
    let logged = 0;
    // The interrupt arrives while the first ConfigMap's create is on its way.
    kube.inject({
      method: 'POST',
      resource: 'configmaps',
      times: 1,
      before: () => {
        logged = kube.log.length;
        ac.abort(reason);
      },
    });
    await expect(
      applyObjects([signatureCm(HEX_A, ['s']), signatureCm(HEX_B, ['t']), idms()], {
        kubeConfig,
        overwrite: false,
        dryRun: false,
        retry: { attempts: 3, baseDelayMs: 1 },
        signal: ac.signal,
      }),
    ).rejects.toBe(reason);
    expect(logged).toBeGreaterThan(0);
    expect(kube.log).toHaveLength(logged);
    expect(kube.get('configmaps', `sha256-${HEX_B}`, NS)).toBeUndefined();
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')).toBeUndefined();
  });

  it('an abort during a retry wait (the read answering 503) ends the wait at once', async () => {
    const { kubeConfig } = await loadKubeConfig({ kubeconfig: kubeconfigPath, env: {}, homeDir: dir });
    const ac = new AbortController();
    const reason = new Error('interrupted');
    kube.inject({ method: 'GET', resource: 'configmaps', status: 503, message: 'busy' });
    const run = applyObjects([signatureCm(HEX_A, ['s'])], {
      kubeConfig,
      overwrite: false,
      dryRun: false,
      retry: { attempts: 3, baseDelayMs: 30_000 },
      signal: ac.signal,
    });
    for (let i = 0; i < 500 && !kube.log.some((r) => r.status === 503); i++) await sleep(10);
    const count = kube.log.length;
    const started = Date.now();
    ac.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(kube.log).toHaveLength(count);
  });
});
