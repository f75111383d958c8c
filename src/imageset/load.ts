/**
 * `loadImageSetConfig(path)`: reads an image set in whichever format it is written.
 * A directory is a promoter thin-manifest directory; a file is an oc-mirror
 * ImageSetConfiguration when it has `apiVersion`/`kind`, a plain promoter manifest
 * when it has `registries` and `images`.
 */
import { readFile, stat } from 'node:fs/promises';
import { BaleError, messageOf } from '../errors.js';
import type { ImageSet } from './image-set.js';
import { imageSetFromYaml, IMAGESET_KIND } from './image-set-configuration.js';
import { promoterManifestFromYaml } from './promoter-manifest.js';
import { YamlSource } from '../strict-yaml.js';
import { loadThinManifestDir } from './thin-manifests.js';

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const FORMATS_HINT =
  'An image set is an oc-mirror ImageSetConfiguration (apiVersion: mirror.openshift.io/v2alpha1), a promoter manifest (registries, images) or a thin-manifest directory; see the README, "Image sets".';

/** Reads and checks the image set at `path` (file or directory). Throws E_IMAGESET_INVALID, E_IO. */
export async function loadImageSetConfig(path: string): Promise<ImageSet> {
  let isDir: boolean;
  let size: number;
  try {
    const st = await stat(path);
    isDir = st.isDirectory();
    size = st.size;
    if (!isDir && !st.isFile()) throw new Error('not a regular file or directory');
  } catch (err) {
    throw new BaleError('E_IO', `cannot read image set ${path}: ${messageOf(err)}`, {
      hint: 'Check the path given to --config.',
      cause: err,
      details: { file: path },
    });
  }
  if (isDir) return loadThinManifestDir(path);
  if (size > MAX_CONFIG_BYTES) {
    throw new BaleError('E_IMAGESET_INVALID', `${path}: larger than ${MAX_CONFIG_BYTES} bytes`, {
      hint: FORMATS_HINT,
      details: { file: path },
    });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BaleError('E_IO', `cannot read image set ${path}: ${messageOf(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
  return parseImageSetText(text, path);
}

/** Detects the format of one file's text and parses it. */
export function parseImageSetText(text: string, file: string): ImageSet {
  const src = YamlSource.parse(text, file, { code: 'E_IMAGESET_INVALID', hint: FORMATS_HINT });
  const root = src.root;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw src.error([], 'is not a mapping: not an image set', FORMATS_HINT);
  }
  const keys = Object.keys(root);
  if (keys.includes('apiVersion') || keys.includes('kind')) {
    const kind = (root as Record<string, unknown>)['kind'];
    if (kind !== IMAGESET_KIND) {
      throw src.error(
        ['kind'],
        `is ${JSON.stringify(kind)}; bale reads kind: ${IMAGESET_KIND}`,
        FORMATS_HINT,
      );
    }
    return imageSetFromYaml(src);
  }
  if (keys.includes('registries') && !keys.includes('images')) {
    throw src.error(
      [],
      'looks like a thin promoter manifest (registries only)',
      'Give the thin-manifest directory (the one holding images/ and manifests/) instead of one of its files.',
    );
  }
  if (keys.includes('registries') || keys.includes('images')) return promoterManifestFromYaml(src);
  throw src.error([], `is not an image set (fields: ${keys.join(', ') || 'none'})`, FORMATS_HINT);
}
