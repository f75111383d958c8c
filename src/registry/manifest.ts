/**
 * Manifest media types and a strict parser for the four manifest kinds bale handles:
 * OCI index, OCI image manifest, Docker manifest list, Docker v2 schema 2 manifest.
 * Schema 1 is rejected.
 */
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

/** Manifest media types bale reads, in the order of preference sent in `Accept`. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
];
export const ACCEPT_MANIFESTS: string = MANIFEST_MEDIA_TYPES.join(', ');

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.dockerSchema1 || mediaType === MEDIA_TYPES.dockerSchema1Signed;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  kind: 'index' | 'image';
  mediaType: string;
  /** Image manifests only. */
  config?: Descriptor;
  /** Image manifests only (empty for an index). */
  layers: Descriptor[];
  /** Indexes only (empty for an image manifest). */
  manifests: Descriptor[];
  /** The manifest's own `annotations` (OCI). Image labels live in the config blob: see parseImageConfig. */
  labels?: Record<string, string>;
}

function bad(why: string, details: Record<string, unknown> = {}): BaleError {
  return new BaleError('E_MANIFEST_INVALID', `invalid manifest: ${why}`, {
    hint: 'The registry returned something that is not an OCI or Docker v2 manifest; check the image reference.',
    details,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw bad(`${where} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw bad(`${where}.${k} is not a string`);
    out[k] = val;
  }
  return out;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v)) throw bad(`${where} is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw bad(`${where}.mediaType is missing`);
  if (!isDigest(digest)) throw bad(`${where}.digest ${JSON.stringify(digest)} is not a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw bad(`${where}.size is not a non-negative integer`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isRecord(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw bad(`${where}.platform needs architecture and os`);
    }
    d.platform = { architecture: p.architecture, os: p.os };
    if (typeof p.variant === 'string') d.platform.variant = p.variant;
  }
  const annotations = stringMap(v.annotations, `${where}.annotations`);
  if (annotations !== undefined) d.annotations = annotations;
  return d;
}

function descriptors(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw bad(`${where} is not an array`);
  return v.map((item, i) => descriptor(item, `${where}[${i}]`));
}

/** Strips parameters (`; charset=utf-8`) and case from a Content-Type value. */
export function normalizeMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const t = contentType.split(';')[0]?.trim().toLowerCase();
  return t === undefined || t.length === 0 ? undefined : t;
}

/**
 * Parses a manifest. The media type comes from the hint (a Content-Type), else from
 * the JSON's `mediaType`, else is sniffed (`manifests` → OCI index, `layers` → OCI
 * manifest). A hint that disagrees with a `mediaType` in the body is an error.
 */
export function parseManifest(bytes: Buffer, mediaTypeHint?: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not valid JSON', { size: bytes.length });
  }
  if (!isRecord(json)) throw bad('not a JSON object');

  const hint = normalizeMediaType(mediaTypeHint);
  const usableHint =
    hint !== undefined && (isManifestMediaType(hint) || isSchema1MediaType(hint)) ? hint : undefined;
  const bodyType = typeof json.mediaType === 'string' ? json.mediaType : undefined;

  if (json.schemaVersion === 1 || (usableHint !== undefined && isSchema1MediaType(usableHint))) {
    throw new BaleError('E_MANIFEST_INVALID', 'Docker schema 1 manifests are not supported', {
      hint: 'Schema 1 is deprecated; re-push the image with a current client (it writes schema 2 or OCI).',
    });
  }
  if (json.schemaVersion !== 2)
    throw bad(`schemaVersion is ${JSON.stringify(json.schemaVersion)}, expected 2`);
  if (usableHint !== undefined && bodyType !== undefined && usableHint !== bodyType) {
    throw bad(`served as ${usableHint} but its mediaType is ${bodyType}`);
  }

  let mediaType = usableHint ?? bodyType;
  if (mediaType === undefined) {
    if (Array.isArray(json.manifests)) mediaType = MEDIA_TYPES.ociIndex;
    else if (Array.isArray(json.layers)) mediaType = MEDIA_TYPES.ociManifest;
    else throw bad('neither manifests nor layers present');
  }

  const labels = stringMap(json.annotations, 'annotations');
  if (INDEX_TYPES.includes(mediaType)) {
    const out: ParsedManifest = {
      kind: 'index',
      mediaType,
      layers: [],
      manifests: descriptors(json.manifests, 'manifests'),
    };
    if (labels !== undefined) out.labels = labels;
    return out;
  }
  if (IMAGE_TYPES.includes(mediaType)) {
    const out: ParsedManifest = {
      kind: 'image',
      mediaType,
      config: descriptor(json.config, 'config'),
      layers: descriptors(json.layers, 'layers'),
      manifests: [],
    };
    if (labels !== undefined) out.labels = labels;
    return out;
  }
  throw bad(`unsupported media type ${JSON.stringify(mediaType)}`);
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  labels: Record<string, string>;
}

/** The parts of an image config blob bale reads (labels, platform). */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('image config is not valid JSON');
  }
  if (!isRecord(json)) throw bad('image config is not a JSON object');
  const config = isRecord(json.config) ? json.config : {};
  const out: ImageConfig = { labels: stringMap(config.Labels, 'config.Labels') ?? {} };
  if (typeof json.architecture === 'string') out.architecture = json.architecture;
  if (typeof json.os === 'string') out.os = json.os;
  if (typeof json.variant === 'string') out.variant = json.variant;
  return out;
}
