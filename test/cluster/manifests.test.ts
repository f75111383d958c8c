import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests, parseManifests } from '../../src/cluster/manifests.js';
import { BaleError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-manifests-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

const CM = (name: string, ns = 'openshift-config-managed'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels:\n    release.openshift.io/verification-signatures: ""\nbinaryData:\n  ${name}-1: c2ln\n`;

async function failure(p: Promise<unknown>): Promise<BaleError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BaleError);
  return e as BaleError;
}

describe('loadManifests', () => {
  it('reads multi-document YAML, JSON and List files in order, skipping empty documents', async () => {
    const y = join(dir, 'a.yaml');
    await writeFile(y, `---\n${CM('sha256-aa')}---\n# only a comment\n---\n${CM('sha256-bb')}`);
    const j = join(dir, 'b.json');
    await writeFile(
      j,
      JSON.stringify({
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageDigestMirrorSet',
        metadata: { name: 'm' },
        spec: { imageDigestMirrors: [] },
      }),
    );
    const l = join(dir, 'c.json');
    await writeFile(
      l,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sha256-cc', namespace: 'x' } }],
      }),
    );
    const objs = await loadManifests([y, j, l]);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/sha256-aa',
      'ConfigMap/sha256-bb',
      'ImageDigestMirrorSet/m',
      'ConfigMap/sha256-cc',
    ]);
    expect(objs[0]?.binaryData).toEqual({ 'sha256-aa-1': 'c2ln' });
    expect(objs[0]?.metadata.labels).toEqual({ 'release.openshift.io/verification-signatures': '' });
  });

  it('refuses a document without apiVersion, kind or a valid metadata.name, naming file and document', async () => {
    const cases: [string, RegExp][] = [
      ['kind: ConfigMap\nmetadata: {name: a}\n', /apiVersion/],
      ['apiVersion: v1\nmetadata: {name: a}\n', /kind/],
      ['apiVersion: v1\nkind: ConfigMap\n', /metadata is missing/],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n', /metadata\.name/],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n', /DNS-1123/],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "a.b"}\n', /namespace/],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: 1}}\n', /labels must map strings/],
      ['- just\n- a list\n', /not an object/],
    ];
    for (const [i, [text, pattern]] of cases.entries()) {
      const p = join(dir, `bad-${i}.yaml`);
      await writeFile(p, `${CM('sha256-ok')}---\n${text}`);
      const e = await failure(loadManifests([p]));
      expect(e.code).toBe('E_CONFIG');
      expect(e.message).toMatch(pattern);
      expect(e.message).toContain(`${p} (document 2)`);
    }
  });

  it('reports YAML syntax errors by position', () => {
    let err: unknown;
    try {
      parseManifests('apiVersion: v1\nkind: [unclosed\n', 'x.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).message).toMatch(/x\.yaml is not valid YAML or JSON \(line \d+, column \d+\)/);
  });

  it('refuses the same object defined twice', async () => {
    const a = join(dir, 'dup-a.yaml');
    const b = join(dir, 'dup-b.yaml');
    await writeFile(a, CM('sha256-dd'));
    await writeFile(b, CM('sha256-dd'));
    const e = await failure(loadManifests([a, b]));
    expect(e.message).toMatch(/defined twice/);
    // Same name in another namespace is another object.
    await writeFile(b, CM('sha256-dd', 'other'));
    expect(await loadManifests([a, b])).toHaveLength(2);
  });

  it('E_IO for a missing file', async () => {
    const e = await failure(loadManifests([join(dir, 'missing.yaml')]));
    expect(e.code).toBe('E_IO');
  });
});
