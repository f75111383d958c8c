/**
 * The Kubernetes image promoter's manifests (kubernetes-sigs/promo-tools), read as
 * strictly as the promoter does (`yaml.UnmarshalStrict`):
 *
 * - plain manifest: `registries` (exactly one with `src: true`) and `images[]`
 *   (`name`, `dmap`: digest → tags);
 * - thin manifest (`manifests/<x>/promoter-manifest.yaml`): `registries` only, its
 *   images in `images/<x>/images.yaml` (a bare `images` list); see thin-manifests.ts.
 *
 * Every image is pinned by digest. Its repository in the bundle and in the mirror
 * is its `name`, relative to the source registry entry: `name: apple` from
 * `gcr.io/staging` is read from `gcr.io/staging/apple` and lands at `<prefix>/apple`.
 */
import { isDigest } from '../digest.js';
import { isBaleError } from '../errors.js';
import { isRepositoryPath, isTag, parseReference } from '../registry/reference.js';
import type { PinnedReference } from '../release/pinned-reference.js';
import { emptyImageSet, type ImageSet, type PromotedImage } from './image-set.js';
import { YamlSource, type Field } from '../strict-yaml.js';

const HINT =
  'See the README, "Image sets": a promoter manifest has registries (one with src: true) and images.';

/** A registry entry of a promoter manifest. */
export interface PromoterRegistry {
  name: string;
  src: boolean;
  serviceAccount?: string;
}

/** Parses a plain promoter manifest read from `file`. Throws E_IMAGESET_INVALID. */
export function parsePromoterManifest(text: string, file: string): ImageSet {
  const src = YamlSource.parse(text, file, { code: 'E_IMAGESET_INVALID', hint: HINT });
  return promoterManifestFromYaml(src);
}

/** The same, from an already parsed document. */
export function promoterManifestFromYaml(src: YamlSource): ImageSet {
  const top = src.top();
  top.mapping(['registries', 'images']);
  const source = sourceRegistry(top.at('registries'));
  const set = emptyImageSet('promoter-manifest', src.file);
  const images = top.at('images');
  if (!images.present) throw images.fail('is required');
  set.promotedImages = promotedImages(images, source, src.file);
  return set;
}

/** The registries of a thin manifest (`manifests/<x>/promoter-manifest.yaml`): its source entry. */
export function parseThinManifest(text: string, file: string): string {
  const src = YamlSource.parse(text, file, { code: 'E_IMAGESET_INVALID', hint: HINT });
  const top = src.top();
  top.mapping(['registries'], {
    images: 'a thin manifest lists no images; they belong in images/<name>/images.yaml',
  });
  return sourceRegistry(top.at('registries'));
}

/** The images of a thin manifest (`images/<x>/images.yaml`), read from `source`. */
export function parseThinImages(text: string, file: string, source: string): PromotedImage[] {
  const src = YamlSource.parse(text, file, { code: 'E_IMAGESET_INVALID', hint: HINT });
  return promotedImages(src.top(), source, file);
}

/** The `name` of the one registry with `src: true`. */
function sourceRegistry(registries: Field): string {
  const list = registries.list();
  if (list.length === 0) throw registries.fail('is required: name the source registry (src: true)');
  const sources: { name: string; field: Field }[] = [];
  const names = new Set<string>();
  for (const r of list) {
    r.mapping(['name', 'src', 'service-account']);
    const name = r.at('name').string();
    r.at('service-account').optString();
    if (names.has(name)) throw r.at('name').fail(`registry ${JSON.stringify(name)} is listed twice`);
    names.add(name);
    if (r.at('src').bool(false)) sources.push({ name, field: r });
  }
  if (sources.length === 0) {
    throw registries.fail(
      'has no source registry',
      'Mark the registry the images are read from with src: true.',
    );
  }
  if (sources.length > 1) {
    throw sources[1]!.field
      .at('src')
      .fail(`a second source registry (${sources[0]!.name} is one already); only one may have src: true`);
  }
  const name = sources[0]!.name.replace(/\/+$/, '');
  try {
    parseReference(`${name}/x`);
  } catch (err) {
    if (!isBaleError(err, 'E_REFERENCE')) throw err;
    throw sources[0]!.field.at('name').fail(`${JSON.stringify(name)} is not a registry host and path`);
  }
  return name;
}

function promotedImages(images: Field, source: string, file: string): PromotedImage[] {
  const out: PromotedImage[] = [];
  const names = new Set<string>();
  const list = images.list();
  if (!Array.isArray(images.value)) throw images.fail('must be a list of images (name, dmap)');
  for (const img of list) {
    img.mapping(['name', 'dmap']);
    const name = img.at('name').string();
    if (!isRepositoryPath(name)) {
      throw img
        .at('name')
        .fail(`${JSON.stringify(name)} is not a repository name (lowercase path components)`);
    }
    if (names.has(name)) throw img.at('name').fail(`image ${JSON.stringify(name)} is listed twice`);
    names.add(name);
    out.push(...dmapImages(img.at('dmap'), source, name, file));
  }
  return out;
}

function dmapImages(dmap: Field, source: string, name: string, file: string): PromotedImage[] {
  if (!dmap.present)
    throw dmap.fail('is required: every image is pinned by digest (dmap: { "sha256:…": [tags] })');
  const entries = Object.entries(dmap.mapping(Object.keys(dmap.value as object)));
  if (entries.length === 0) throw dmap.fail('names no digest: every image is pinned by digest');
  const tagOwner = new Map<string, string>();
  const out: PromotedImage[] = [];
  for (const [digest, tags] of entries) {
    const at = dmap.at(digest);
    if (!isDigest(digest)) {
      throw at.fail(
        `${JSON.stringify(digest)} is not a digest`,
        'A digest is sha256: followed by 64 lowercase hex.',
      );
    }
    const tagList: string[] = [];
    if (tags !== null && !Array.isArray(tags)) throw at.fail('must be a list of tags');
    for (const t of at.list()) {
      const tag = t.value;
      if (typeof tag !== 'string' || !isTag(tag)) throw t.fail(`${JSON.stringify(tag)} is not a valid tag`);
      const owner = tagOwner.get(tag);
      if (owner !== undefined) throw t.fail(`tag ${JSON.stringify(tag)} is already given to ${owner}`);
      tagOwner.set(tag, digest);
      tagList.push(tag);
    }
    let ref: PinnedReference;
    try {
      ref = parseReference(`${source}/${name}@${digest}`) as PinnedReference;
    } catch (err) {
      if (!isBaleError(err, 'E_REFERENCE')) throw err;
      throw at.fail(`${source}/${name} is not a valid image name: ${err.message}`);
    }
    out.push({ source: ref, name, tags: tagList, file });
  }
  return out;
}
