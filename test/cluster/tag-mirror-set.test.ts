import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects, type KubeObject } from '../../src/cluster/apply.js';
import { loadKubeConfig } from '../../src/cluster/kube-client.js';
import { mirrorConfig, toYaml } from '../../src/cluster/mirror-config.js';
import { tagMirrorSet } from '../../src/cluster/tag-mirror-set.js';
import { BaleError } from '../../src/errors.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const M = 'mirror.example.com:5000/ocp4';
const SOURCES = [
  { source: 'registry.example.com/tools/must-gather', mirror: `${M}/tools/must-gather` },
  { source: 'quay.io/example/app', mirror: `${M}/example/app` },
  { source: 'quay.io/example/app', mirror: 'backup.example.com/example/app' },
  { source: 'registry.example.com/tools/must-gather', mirror: `${M}/tools/must-gather` }, // duplicate
];

const GOLDEN = `apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  name: bale-tag-mirror
spec:
  imageTagMirrors:
    - source: quay.io/example/app
      mirrors:
        - mirror.example.com:5000/ocp4/example/app
        - backup.example.com/example/app
    - source: registry.example.com/tools/must-gather
      mirrors:
        - mirror.example.com:5000/ocp4/tools/must-gather
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

describe('tagMirrorSet', () => {
  it('groups, dedupes and sorts like the IDMS, field by field', () => {
    const itms = tagMirrorSet({ sources: SOURCES });
    expect(itms.apiVersion).toBe('config.openshift.io/v1');
    expect(itms.kind).toBe('ImageTagMirrorSet');
    expect(itms.metadata).toEqual({ name: 'bale-tag-mirror' });
    expect(itms.spec.imageTagMirrors).toEqual([
      { source: 'quay.io/example/app', mirrors: [`${M}/example/app`, 'backup.example.com/example/app'] },
      { source: 'registry.example.com/tools/must-gather', mirrors: [`${M}/tools/must-gather`] },
    ]);
    expect(toYaml(itms)).toBe(GOLDEN);
  });

  it('is deterministic whatever the input order', () => {
    const reversed = tagMirrorSet({ sources: [...SOURCES].reverse() });
    expect(reversed.spec.imageTagMirrors.map((e) => e.source)).toEqual([
      'quay.io/example/app',
      'registry.example.com/tools/must-gather',
    ]);
    // Mirror order is pull priority: the first given stays first.
    expect(reversed.spec.imageTagMirrors[0]?.mirrors).toEqual([
      'backup.example.com/example/app',
      `${M}/example/app`,
    ]);
  });

  it('adds NeverContactSource only when asked', () => {
    const itms = tagMirrorSet({ sources: SOURCES.slice(0, 1), name: 'tools', neverContactSource: true });
    expect(itms.spec.imageTagMirrors).toEqual([
      {
        source: 'registry.example.com/tools/must-gather',
        mirrors: [`${M}/tools/must-gather`],
        mirrorSourcePolicy: 'NeverContactSource',
      },
    ]);
  });

  it('sits beside the IDMS for the same sources without changing it', () => {
    const { idms } = mirrorConfig({ sources: SOURCES });
    const itms = tagMirrorSet({ sources: SOURCES });
    expect(itms.spec.imageTagMirrors).toEqual(idms.spec.imageDigestMirrors);
  });

  it.each([
    ['a whole registry as source', { source: 'quay.io', mirror: `${M}/x` }, 'E_REFERENCE', 'whole registry'],
    ['a wildcard source', { source: '*.example.com', mirror: `${M}/x` }, 'E_REFERENCE', 'whole registry'],
    [
      'a whole registry as mirror',
      { source: 'quay.io/a/b', mirror: 'mirror.example.com:5000' },
      'E_REFERENCE',
      'whole registry',
    ],
    [
      'a tag in the source',
      { source: 'quay.io/a/b:1.0', mirror: `${M}/b` },
      'E_REFERENCE',
      'invalid mirror source',
    ],
    [
      'a digest in the mirror',
      { source: 'quay.io/a/b', mirror: `${M}/b@sha256:${'a'.repeat(64)}` },
      'E_REFERENCE',
      'invalid mirror mirror',
    ],
    ['a scheme', { source: 'https://quay.io/a/b', mirror: `${M}/b` }, 'E_REFERENCE', 'invalid mirror source'],
    [
      'the source as its own mirror',
      { source: 'quay.io/a/b', mirror: 'quay.io/a/b' },
      'E_REFERENCE',
      'same repository',
    ],
  ])('refuses %s', (_name, pair, code, message) => {
    const err = refused(() => tagMirrorSet({ sources: [pair] }));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });

  it('refuses no sources and a bad name', () => {
    expect(refused(() => tagMirrorSet({ sources: [] })).code).toBe('E_USAGE');
    expect(refused(() => tagMirrorSet({ sources: SOURCES, name: 'Bad_Name' })).code).toBe('E_USAGE');
  });
});

describe('tagMirrorSet applied to the loopback API server', () => {
  let kube: FakeKube;
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('bale-itms-');
    kube = await startFakeKube();
  });
  afterAll(async () => {
    await kube.stop();
    await removeTempDir(dir);
  });

  it('is created cluster-scoped with its entries intact', async () => {
    const { kubeConfig } = await loadKubeConfig({
      kubeconfig: await kube.writeKubeconfig(join(dir, 'kubeconfig')),
      env: {},
      homeDir: dir,
    });
    const itms = tagMirrorSet({ sources: SOURCES });
    const [result] = await applyObjects([itms as unknown as KubeObject], {
      kubeConfig,
      overwrite: false,
      dryRun: false,
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    expect(result).toMatchObject({ kind: 'ImageTagMirrorSet', name: 'bale-tag-mirror', action: 'created' });
    expect(kube.get('imagetagmirrorsets', 'bale-tag-mirror')?.spec).toEqual(itms.spec);
    expect(kube.writes().map((w) => w.path)).toEqual(['/apis/config.openshift.io/v1/imagetagmirrorsets']);
  });
});
