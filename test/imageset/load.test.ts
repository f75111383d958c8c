import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadImageSetConfig } from '../../src/imageset/load.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { D1, put as putIn, thinTree as makeThinTree } from './thin-tree.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('bale-imageset-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

const put = (rel: string, text: string): Promise<string> => putIn(dir, rel, text);
const thinTree = (): Promise<string> => makeThinTree(dir);

async function loadError(path: string): Promise<{ code: string; message: string }> {
  try {
    await loadImageSetConfig(path);
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the load to fail');
}

describe('loadImageSetConfig', () => {
  it('detects an ImageSetConfiguration', async () => {
    const file = await put(
      'isc.yaml',
      'apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    channels: [{ name: stable-4.18, minVersion: 4.18.1, maxVersion: 4.18.7 }]\n',
    );
    const set = await loadImageSetConfig(file);
    expect(set.format).toBe('ImageSetConfiguration');
    expect(set.source).toBe(file);
    expect(set.channels[0]?.maxVersion).toBe('4.18.7');
  });

  it('detects a plain promoter manifest', async () => {
    const file = await put(
      'promoter.yaml',
      `registries:\n- name: 127.0.0.1:5000/staging\n  src: true\nimages:\n- name: apple\n  dmap:\n    "${D1}": ["1.0"]\n`,
    );
    const set = await loadImageSetConfig(file);
    expect(set.format).toBe('promoter-manifest');
    expect(set.promotedImages[0]?.source).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'staging/apple',
      digest: D1,
    });
  });

  it('refuses one file of a thin-manifest directory, pointing at the directory', async () => {
    const root = await thinTree();
    const e = await loadError(join(root, 'manifests/sig-storage/promoter-manifest.yaml'));
    expect(e.message).toContain('looks like a thin promoter manifest');
  });

  it('refuses another Kubernetes kind and a file that is no image set', async () => {
    expect((await loadError(await put('a.yaml', 'apiVersion: v1\nkind: ConfigMap\n'))).message).toContain(
      'bale reads kind: ImageSetConfiguration',
    );
    expect((await loadError(await put('b.yaml', 'hello: world\n'))).message).toContain(
      'is not an image set (fields: hello)',
    );
    expect((await loadError(await put('c.yaml', '- 1\n- 2\n'))).message).toContain('is not a mapping');
  });

  it('a missing path is E_IO naming it', async () => {
    const e = await loadError(join(dir, 'nope.yaml'));
    expect(e.code).toBe('E_IO');
    expect(e.message).toContain('nope.yaml');
  });
});
