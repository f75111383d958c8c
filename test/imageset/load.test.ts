import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadImageSetConfig } from '../../src/imageset/load.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const D1 = `sha256:${'a1'.repeat(32)}`;
const D2 = `sha256:${'b2'.repeat(32)}`;

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('bale-imageset-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

async function put(rel: string, text: string): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** A thin-manifest directory with two sub-projects, as the promoter's own examples. */
async function thinTree(): Promise<string> {
  const root = join(dir, 'thin');
  await put(
    'thin/manifests/sig-storage/promoter-manifest.yaml',
    'registries:\n- name: gcr.io/k8s-staging-sig-storage\n  src: true\n- name: us.gcr.io/k8s-artifacts-prod/sig-storage\n',
  );
  await put(
    'thin/images/sig-storage/images.yaml',
    `- name: csi-attacher\n  dmap:\n    "${D1}": ["v4.8.0"]\n`,
  );
  await put(
    'thin/manifests/kas-network-proxy/promoter-manifest.yaml',
    'registries:\n- name: gcr.io/k8s-staging-kas-network-proxy\n  src: true\n',
  );
  await put(
    'thin/images/kas-network-proxy/images.yaml',
    `- name: proxy-agent\n  dmap:\n    "${D2}": ["v0.31.0"]\n`,
  );
  return root;
}

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

  it('reads a thin-manifest directory, each image from its own source registry, in sub-project order', async () => {
    const set = await loadImageSetConfig(await thinTree());
    expect(set.format).toBe('promoter-thin-manifests');
    expect(
      set.promotedImages.map((i) => [i.name, `${i.source.registry}/${i.source.repository}`, i.tags]),
    ).toEqual([
      ['proxy-agent', 'gcr.io/k8s-staging-kas-network-proxy/proxy-agent', ['v0.31.0']],
      ['csi-attacher', 'gcr.io/k8s-staging-sig-storage/csi-attacher', ['v4.8.0']],
    ]);
    expect(set.promotedImages[0]?.file).toBe(join(dir, 'thin/images/kas-network-proxy/images.yaml'));
  });

  it.each([
    [
      'a manifest without its images file',
      async (root: string) => rm(join(root, 'images/sig-storage/images.yaml')),
      'the images file matching manifests/sig-storage/promoter-manifest.yaml does not exist',
    ],
    [
      'an images directory without its manifest',
      async (root: string) => rm(join(root, 'manifests/sig-storage'), { recursive: true }),
      'images/sig-storage: has no matching manifests/sig-storage/promoter-manifest.yaml',
    ],
    [
      'a manifests sub-directory without promoter-manifest.yaml',
      async (root: string) => rm(join(root, 'manifests/sig-storage/promoter-manifest.yaml')),
      'manifests/sig-storage/promoter-manifest.yaml: the manifest of this sub-project does not exist',
    ],
    [
      'a manifest nested too deep',
      async (root: string) => {
        await mkdir(join(root, 'manifests/sig-storage/extra'));
        await writeFile(join(root, 'manifests/sig-storage/extra/promoter-manifest.yaml'), 'registries: []\n');
      },
      'unexpected manifest path',
    ],
    [
      'a manifest directly under manifests/',
      async (root: string) => writeFile(join(root, 'manifests/promoter-manifest.yaml'), 'registries: []\n'),
      'unexpected manifest path',
    ],
    [
      'no images directory',
      async (root: string) => rm(join(root, 'images'), { recursive: true }),
      'the images directory does not exist',
    ],
    [
      'manifests is a file',
      async (root: string) => {
        await rm(join(root, 'manifests'), { recursive: true });
        await writeFile(join(root, 'manifests'), '');
      },
      'the manifests directory is not a directory',
    ],
    [
      'an images file that is a symbolic link',
      async (root: string) => {
        const p = join(root, 'images/sig-storage/images.yaml');
        await rm(p);
        await symlink('/etc/hostname', p);
      },
      'is a symbolic link',
    ],
    [
      'a thin manifest listing images',
      async (root: string) =>
        writeFile(
          join(root, 'manifests/sig-storage/promoter-manifest.yaml'),
          'registries:\n- name: gcr.io/x\n  src: true\nimages: []\n',
        ),
      'images: a thin manifest lists no images',
    ],
    [
      'an images file entry without digest',
      async (root: string) =>
        writeFile(join(root, 'images/sig-storage/images.yaml'), '- name: csi-attacher\n'),
      'images.yaml: [0].dmap: is required',
    ],
    [
      'one image name in two sub-projects',
      async (root: string) =>
        writeFile(
          join(root, 'images/sig-storage/images.yaml'),
          `- name: proxy-agent\n  dmap:\n    "${D1}": []\n`,
        ),
      'image "proxy-agent" is also listed in',
    ],
    [
      'no manifests at all',
      async (root: string) => {
        await rm(join(root, 'manifests'), { recursive: true });
        await rm(join(root, 'images'), { recursive: true });
        await mkdir(join(root, 'manifests'));
        await mkdir(join(root, 'images'));
      },
      'no manifests found',
    ],
  ])('refuses a thin-manifest directory with %s', async (_name, damage, expected) => {
    const root = await thinTree();
    await damage(root);
    const e = await loadError(root);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toContain(expected);
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
