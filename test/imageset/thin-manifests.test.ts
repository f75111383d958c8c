/** The image promoter's thin-manifest directories (promo-tools ParseThinManifestsFromDir), strict about what would be lost. */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadThinManifestDir } from '../../src/imageset/thin-manifests.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { D1, thinTree as makeThinTree } from './thin-tree.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('bale-thin-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

const thinTree = (): Promise<string> => makeThinTree(dir);

async function loadError(
  path: string,
): Promise<{ code: string; message: string; hint?: string; details: Record<string, unknown> }> {
  try {
    await loadThinManifestDir(path);
  } catch (err) {
    if (isBaleError(err))
      return { code: err.code, message: err.message, hint: err.hint, details: err.details };
    throw err;
  }
  throw new Error('expected the load to fail');
}

describe('loadThinManifestDir', () => {
  it('reads a thin-manifest directory, each image from its own source registry, in sub-project order', async () => {
    const set = await loadThinManifestDir(await thinTree());
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

  it('names the directory and the file in details, with a hint on the layout', async () => {
    const root = await thinTree();
    await rm(join(root, 'images/sig-storage/images.yaml'));
    const e = await loadError(root);
    expect(e.details).toEqual({ directory: root, file: join(root, 'images/sig-storage/images.yaml') });
    expect(e.hint).toMatch(/manifests\/<name>\/promoter-manifest.yaml and images\/<name>\/images.yaml/);
  });

  it('refuses a sub-project directory that is a symbolic link', async () => {
    const root = await thinTree();
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(root, 'manifests/linked'));
    const e = await loadError(root);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toBe(
      `${join(root, 'manifests/linked')}: is a symbolic link; bale reads only real directories here`,
    );
  });

  it('refuses an images file over 4 MiB without parsing it', async () => {
    const root = await thinTree();
    const p = join(root, 'images/sig-storage/images.yaml');
    await writeFile(p, `- name: csi-attacher\n  dmap:\n    "${D1}": []\n#${'x'.repeat(4 * 1024 * 1024)}\n`);
    const e = await loadError(root);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toBe(`${p}: larger than ${4 * 1024 * 1024} bytes`);
  });

  it('a missing directory says the images directory does not exist', async () => {
    const e = await loadError(join(dir, 'absent'));
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toBe(`${join(dir, 'absent', 'images')}: the images directory does not exist`);
  });
});
