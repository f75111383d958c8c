/**
 * A thin-manifest directory of the image promoter (promo-tools
 * `ParseThinManifestsFromDir`): `<dir>/manifests/<x>/promoter-manifest.yaml` (the
 * registries) with `<dir>/images/<x>/images.yaml` (the images), for each sub-project
 * `<x>`. Enforced as the promoter does: `images/` and `manifests/` are directories,
 * a `promoter-manifest.yaml` anywhere but exactly `manifests/<x>/` is an error, and
 * each one has its `images/<x>/images.yaml`, a regular file.
 *
 * Stricter than the promoter, because what bale skips is lost on the far side: a
 * `manifests/<x>/` without `promoter-manifest.yaml`, an `images/<x>/` without a
 * manifest, a symbolic link, and one image name in two sub-projects are errors too.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BaleError, messageOf } from '../errors.js';
import { emptyImageSet, type ImageSet, type PromotedImage } from './image-set.js';
import { parseThinImages, parseThinManifest } from './promoter-manifest.js';

export const THIN_MANIFEST_FILE = 'promoter-manifest.yaml';
export const THIN_IMAGES_FILE = 'images.yaml';
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 10_000;

const HINT =
  'A thin-manifest directory holds manifests/<name>/promoter-manifest.yaml and images/<name>/images.yaml for each <name>.';

function bad(dir: string, path: string, what: string, hint = HINT): BaleError {
  return new BaleError('E_IMAGESET_INVALID', `${path}: ${what}`, {
    hint,
    details: { directory: dir, file: path },
  });
}

async function kindOf(path: string): Promise<'dir' | 'file' | 'link' | 'other' | 'missing'> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return 'link';
    if (st.isDirectory()) return 'dir';
    if (st.isFile()) return 'file';
    return 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new BaleError('E_IO', `cannot read ${path}: ${messageOf(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
}

async function requireKind(dir: string, path: string, want: 'dir' | 'file', what: string): Promise<void> {
  const kind = await kindOf(path);
  if (kind === want) return;
  const is =
    kind === 'missing'
      ? 'does not exist'
      : kind === 'link'
        ? 'is a symbolic link'
        : `is not a ${want === 'dir' ? 'directory' : 'regular file'}`;
  throw bad(dir, path, `${what} ${is}`);
}

async function readSmall(dir: string, path: string): Promise<string> {
  const st = await lstat(path);
  if (st.size > MAX_FILE_BYTES) throw bad(dir, path, `larger than ${MAX_FILE_BYTES} bytes`);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new BaleError('E_IO', `cannot read ${path}: ${messageOf(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
}

/** Every `promoter-manifest.yaml` under manifests/ must be exactly manifests/<x>/promoter-manifest.yaml. */
async function checkNoStrayManifests(dir: string, manifestsDir: string): Promise<void> {
  const entries = await readdir(manifestsDir, { recursive: true, withFileTypes: true });
  if (entries.length > MAX_ENTRIES) throw bad(dir, manifestsDir, `holds more than ${MAX_ENTRIES} entries`);
  for (const e of entries) {
    if (e.name !== THIN_MANIFEST_FILE) continue;
    const rel = relative(manifestsDir, join(e.parentPath, e.name)).split(/[\\/]/);
    if (rel.length !== 2) {
      throw bad(
        dir,
        join(e.parentPath, e.name),
        `unexpected manifest path: a ${THIN_MANIFEST_FILE} must be at manifests/<name>/${THIN_MANIFEST_FILE}`,
      );
    }
  }
}

async function subdirectories(dir: string, parent: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(parent, { withFileTypes: true })) {
    const path = join(parent, e.name);
    if (e.isSymbolicLink()) throw bad(dir, path, 'is a symbolic link; bale reads only real directories here');
    if (e.isDirectory()) out.push(e.name);
  }
  return out.sort();
}

/** Reads a thin-manifest directory into one image set. Throws E_IMAGESET_INVALID naming the path. */
export async function loadThinManifestDir(dir: string): Promise<ImageSet> {
  const imagesDir = join(dir, 'images');
  const manifestsDir = join(dir, 'manifests');
  await requireKind(dir, imagesDir, 'dir', 'the images directory');
  await requireKind(dir, manifestsDir, 'dir', 'the manifests directory');
  await checkNoStrayManifests(dir, manifestsDir);

  const projects = await subdirectories(dir, manifestsDir);
  const imageProjects = await subdirectories(dir, imagesDir);
  for (const p of imageProjects) {
    if (!projects.includes(p)) {
      throw bad(dir, join(imagesDir, p), `has no matching manifests/${p}/${THIN_MANIFEST_FILE}`);
    }
  }
  if (projects.length === 0)
    throw bad(dir, manifestsDir, 'holds no manifests/<name>/ directory: no manifests found');

  const set = emptyImageSet('promoter-thin-manifests', dir);
  const owner = new Map<string, PromotedImage>();
  for (const p of projects) {
    const manifestPath = join(manifestsDir, p, THIN_MANIFEST_FILE);
    const imagesPath = join(imagesDir, p, THIN_IMAGES_FILE);
    await requireKind(dir, manifestPath, 'file', 'the manifest of this sub-project');
    await requireKind(
      dir,
      imagesPath,
      'file',
      `the images file matching manifests/${p}/${THIN_MANIFEST_FILE}`,
    );
    const source = parseThinManifest(await readSmall(dir, manifestPath), manifestPath);
    const images = parseThinImages(await readSmall(dir, imagesPath), imagesPath, source);
    for (const img of images) {
      const first = owner.get(img.name);
      if (first !== undefined && first.file !== img.file) {
        throw bad(
          dir,
          img.file,
          `image ${JSON.stringify(img.name)} is also listed in ${first.file}`,
          'Each image name lands at <prefix>/<name> in the mirror: give it one sub-project.',
        );
      }
      owner.set(img.name, img);
      set.promotedImages.push(img);
    }
  }
  return set;
}
