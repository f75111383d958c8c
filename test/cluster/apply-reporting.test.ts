/**
 * Applying generated objects with progress (src/cluster/apply-reporting.ts): the
 * kubeconfig resolved once, a preview that changes nothing, each result advancing the
 * progress, conflicts and errors said as warnings.
 *
 * No real Kubernetes API server can run here; as in apply.test.ts the cluster is the
 * loopback fake API server of test/helpers/fake-kube.ts (real HTTPS, real bearer
 * token, the real Kubernetes client).
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openClusterApplier } from '../../src/cluster/apply-reporting.js';
import { generatedObjects } from '../../src/cluster/generated-objects.js';
import type { KubeObject } from '../../src/cluster/kube-object.js';
import type { Progress } from '../../src/progress.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

function recorder(): Progress & { warnings: string[]; items: number } {
  const r = {
    warnings: [] as string[],
    items: 0,
    phase() {},
    info() {},
    advance: (_bytes: number, items = 0) => void (r.items += items),
    warn: (m: string) => void r.warnings.push(m),
  };
  return r;
}

const objects = (mirror = 'mirror.example:5000/ocp/release'): KubeObject[] =>
  generatedObjects({
    repositories: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirror }],
    updateService: {
      releases: mirror,
      graphDataImage: `mirror.example:5000/ocp/graph@sha256:${'b'.repeat(64)}`,
    },
  }).flatMap((f) => f.objects);

let kube: FakeKube;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  dir = await makeTempDir('bale-apply-reporting-');
});
afterAll(async () => {
  await removeTempDir(dir);
});
beforeEach(async () => {
  kube = await startFakeKube();
  kubeconfig = await kube.writeKubeconfig(join(dir, 'kubeconfig'));
});
afterEach(async () => {
  await kube.stop();
});

describe('openClusterApplier', () => {
  it('preview changes nothing; apply creates each object, one progress item per result', async () => {
    const progress = recorder();
    const cluster = await openClusterApplier({
      kubeconfig,
      env: {},
      homeDir: dir,
      overwrite: false,
      progress,
    });
    const preview = await cluster.preview(objects());
    expect(preview.map((r) => [r.kind, r.action])).toEqual([
      ['ImageDigestMirrorSet', 'would-create'],
      ['UpdateService', 'would-create'],
    ]);
    expect(kube.count()).toBe(0);
    expect(progress.items).toBe(0); // a preview is not progress
    const applied = await cluster.apply(objects());
    expect(applied.map((r) => r.action)).toEqual(['created', 'created']);
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')).toBeDefined();
    expect(kube.get('updateservices', 'bale-update-service', 'openshift-update-service')).toBeDefined();
    expect(progress.items).toBe(2);
    expect(progress.warnings).toEqual([]);
    expect(cluster.failed(applied)).toBe(false);
    // apply(…, true) is a dry run too
    const again = await cluster.apply(objects(), true);
    expect(again.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
  });

  it('a different object already there: a warning naming it and --overwrite; with overwrite it is updated', async () => {
    const first = await openClusterApplier({
      kubeconfig,
      env: {},
      homeDir: dir,
      overwrite: false,
      progress: recorder(),
    });
    await first.apply(objects());
    const progress = recorder();
    const cluster = await openClusterApplier({
      kubeconfig,
      env: {},
      homeDir: dir,
      overwrite: false,
      progress,
    });
    const results = await cluster.apply(objects('other.example:5000/ocp/release'));
    expect(results.map((r) => r.action)).toEqual(['conflict', 'conflict']);
    expect(progress.warnings).toEqual([
      'ImageDigestMirrorSet bale-mirror exists and differs; not changed (use --overwrite)',
      'UpdateService openshift-update-service/bale-update-service exists and differs; not changed (use --overwrite)',
    ]);
    const overwrite = await openClusterApplier({
      kubeconfig,
      env: {},
      homeDir: dir,
      overwrite: true,
      progress: recorder(),
    });
    expect((await overwrite.apply(objects('other.example:5000/ocp/release'))).map((r) => r.action)).toEqual([
      'updated',
      'updated',
    ]);
  });

  it('an object the cluster refuses: a warning with the reason, the rest applied, failed() true', async () => {
    kube.inject({ method: 'POST', resource: 'imagedigestmirrorsets', status: 403 });
    const progress = recorder();
    const cluster = await openClusterApplier({
      kubeconfig,
      env: {},
      homeDir: dir,
      overwrite: false,
      progress,
    });
    const results = await cluster.apply(objects());
    expect(results.map((r) => r.action)).toEqual(['error', 'created']);
    expect(progress.warnings).toHaveLength(1);
    expect(progress.warnings[0]).toMatch(/^ImageDigestMirrorSet bale-mirror: .*not permitted/);
    expect(progress.warnings[0]).not.toContain(kube.token);
    expect(progress.items).toBe(2);
    expect(cluster.failed(results)).toBe(true);
  });

  it('a kubeconfig that does not exist fails when opening, before anything is sent', async () => {
    await expect(
      openClusterApplier({
        kubeconfig: join(dir, 'missing'),
        env: {},
        homeDir: dir,
        overwrite: false,
        progress: recorder(),
      }),
    ).rejects.toMatchObject({ code: 'E_CLUSTER' });
    expect(kube.log).toEqual([]);
  });
});
