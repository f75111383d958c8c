import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyObjects, type KubeObject } from '../../src/cluster/apply.js';
import { loadKubeConfig } from '../../src/cluster/kube-client.js';
import { toYaml } from '../../src/cluster/mirror-config.js';
import { updateService } from '../../src/cluster/update-service.js';
import { BaleError } from '../../src/errors.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const HEX = 'c'.repeat(64);
const RELEASES = 'mirror.example.com:5000/ocp4/openshift/release';
const GRAPH = `mirror.example.com:5000/ocp4/openshift/graph-data@sha256:${HEX}`;

const GOLDEN = `apiVersion: updateservice.operator.openshift.io/v1
kind: UpdateService
metadata:
  name: bale-update-service
  namespace: openshift-update-service
spec:
  graphDataImage: ${GRAPH}
  releases: ${RELEASES}
  replicas: 2
`;

function refused(fn: () => unknown): BaleError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BaleError);
    expect((e as BaleError).hint).toBeTruthy();
    return e as BaleError;
  }
  throw new Error('expected a BaleError');
}

describe('updateService', () => {
  it('writes the UpdateService the operator expects, field by field', () => {
    const us = updateService({ releases: RELEASES, graphDataImage: GRAPH });
    expect(us.apiVersion).toBe('updateservice.operator.openshift.io/v1');
    expect(us.kind).toBe('UpdateService');
    expect(us.metadata).toEqual({ name: 'bale-update-service', namespace: 'openshift-update-service' });
    expect(us.spec).toEqual({ graphDataImage: GRAPH, releases: RELEASES, replicas: 2 });
    expect(Object.keys(us.spec)).toEqual(['graphDataImage', 'releases', 'replicas']);
    expect(toYaml(us)).toBe(GOLDEN);
    expect(parse(toYaml(us))).toEqual(us);
  });

  it('takes a name, namespace and replica count', () => {
    const us = updateService({
      releases: RELEASES,
      graphDataImage: GRAPH,
      replicas: 1,
      name: 'osus',
      namespace: 'updates',
    });
    expect(us.metadata).toEqual({ name: 'osus', namespace: 'updates' });
    expect(us.spec.replicas).toBe(1);
  });

  it.each([
    [
      'a tag on the release repository',
      { releases: `${RELEASES}:4.21.0-x86_64` },
      'E_REFERENCE',
      'tag or digest',
    ],
    [
      'a digest on the release repository',
      { releases: `${RELEASES}@sha256:${HEX}` },
      'E_REFERENCE',
      'tag or digest',
    ],
    [
      'a release repository without its registry',
      { releases: 'openshift/release' },
      'E_REFERENCE',
      'docker.io/openshift/release',
    ],
    [
      'a graph-data image by tag only',
      { graphDataImage: 'mirror.example.com/graph-data:latest' },
      'E_REFERENCE',
      'not pinned by digest',
    ],
    [
      'a graph-data image with tag and digest',
      { graphDataImage: `mirror.example.com/g:latest@sha256:${HEX}` },
      'E_REFERENCE',
      'tag as well',
    ],
    [
      'a graph-data image with a URL scheme',
      { graphDataImage: `https://mirror.example.com/g@sha256:${HEX}` },
      'E_REFERENCE',
      'scheme',
    ],
    ['zero replicas', { replicas: 0 }, 'E_USAGE', 'replicas 0'],
    ['fractional replicas', { replicas: 1.5 }, 'E_USAGE', 'replicas 1.5'],
    ['a name that is not a DNS label', { name: 'bale.update' }, 'E_USAGE', 'name "bale.update"'],
    ['a name over 63 characters', { name: 'u'.repeat(64) }, 'E_USAGE', 'invalid UpdateService name'],
    ['a bad namespace', { namespace: 'Updates' }, 'E_USAGE', 'namespace "Updates"'],
  ])('refuses %s', (_name, patch, code, message) => {
    const err = refused(() => updateService({ releases: RELEASES, graphDataImage: GRAPH, ...patch }));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });
});

describe('updateService applied to the loopback API server', () => {
  let kube: FakeKube;
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('bale-osus-');
    kube = await startFakeKube();
  });
  afterAll(async () => {
    await kube.stop();
    await removeTempDir(dir);
  });

  it('is created in its namespace, then left alone when identical', async () => {
    const { kubeConfig } = await loadKubeConfig({
      kubeconfig: await kube.writeKubeconfig(join(dir, 'kubeconfig')),
      env: {},
      homeDir: dir,
    });
    const us = updateService({ releases: RELEASES, graphDataImage: GRAPH }) as unknown as KubeObject;
    const opts = { kubeConfig, overwrite: false, dryRun: false, retry: { attempts: 2, baseDelayMs: 1 } };
    const [first] = await applyObjects([us], opts);
    expect(first).toMatchObject({
      kind: 'UpdateService',
      namespace: 'openshift-update-service',
      action: 'created',
    });
    const stored = kube.get('updateservices', 'bale-update-service', 'openshift-update-service');
    expect(stored?.spec).toEqual({ graphDataImage: GRAPH, releases: RELEASES, replicas: 2 });
    expect(kube.writes().map((w) => w.path)).toEqual([
      '/apis/updateservice.operator.openshift.io/v1/namespaces/openshift-update-service/updateservices',
    ]);
    const [again] = await applyObjects([us], opts);
    expect(again?.action).toBe('unchanged');
  });
});
