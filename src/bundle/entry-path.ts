/**
 * What a path inside a bundle may look like. Everything read from a volume or from
 * bundle.json is hostile until these checks pass: they are the single place that
 * decides whether a name could escape the directory it is extracted into.
 */
import { isRepositoryPath, isTag as isReferenceTag } from '../registry/reference.js';

/** The top-level folders a bundle entry may live under. */
export const ENTRY_ROOTS = ['v2', 'config', 'signatures', 'manifests', 'graph'] as const;

const MAX_PATH = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const HEX64 = /^[a-f0-9]{64}$/;
const DIGEST_NAME = /^sha256:[a-f0-9]{64}$/;
/** Docker tag grammar. */
/** One component of a repository path (distribution's grammar). */
const PART_SUFFIX = /\.part-(\d{3,})$/;

/** Why `path` is not a safe entry path, or undefined when it is. */
export function entryPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'is not a string';
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  if (CONTROL.test(path)) return 'contains a control character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  const segments = path.split('/');
  for (const s of segments) {
    if (s === '') return 'has an empty segment';
    if (s === '.' || s === '..') return `has a "${s}" segment`;
  }
  const root = segments[0] ?? '';
  if (!(ENTRY_ROOTS as readonly string[]).includes(root)) {
    return `is not under ${ENTRY_ROOTS.map((r) => `${r}/`).join(', ')}`;
  }
  if (segments.length < 2) return 'names a folder, not a file';
  if (root === 'v2' && parseV2Path(path) === undefined) {
    return 'is not v2/<repository>/blobs/sha256:<hex> or v2/<repository>/manifests/<digest or tag>';
  }
  return undefined;
}

export function isSafeEntryPath(path: unknown): path is string {
  return entryPathProblem(path) === undefined;
}

/** The distribution grammar (src/registry/reference.ts), for values read from hostile media. */
export function isRepository(repo: unknown): repo is string {
  return typeof repo === 'string' && isRepositoryPath(repo);
}

export function isTag(tag: unknown): tag is string {
  return typeof tag === 'string' && isReferenceTag(tag);
}

export interface V2Path {
  repository: string;
  kind: 'blobs' | 'manifests';
  /** `sha256:<hex>` for blobs and manifests by digest, the tag otherwise. */
  name: string;
  /** For a manifest by tag. */
  tag?: string;
  /** Part number for a split blob (`…/blobs/sha256:<hex>.part-NNN`). */
  part?: number;
}

/** Splits a `v2/…` path into repository, kind and name; undefined if it is not one. */
export function parseV2Path(path: string): V2Path | undefined {
  if (!path.startsWith('v2/')) return undefined;
  const segments = path.split('/');
  if (segments.length < 4) return undefined;
  let name = segments[segments.length - 1] ?? '';
  const kind = segments[segments.length - 2];
  const repository = segments.slice(1, -2).join('/');
  if (!isRepository(repository)) return undefined;
  if (kind === 'blobs') {
    let part: number | undefined;
    const m = PART_SUFFIX.exec(name);
    if (m) {
      part = Number(m[1]);
      name = name.slice(0, m.index);
    }
    if (!DIGEST_NAME.test(name)) return undefined;
    return part === undefined ? { repository, kind, name } : { repository, kind, name, part };
  }
  if (kind === 'manifests') {
    if (DIGEST_NAME.test(name)) return { repository, kind, name };
    if (isTag(name)) return { repository, kind, name, tag: name };
    return undefined;
  }
  return undefined;
}

export function blobEntryPath(repository: string, digest: string): string {
  return `v2/${repository}/blobs/${digest}`;
}

export function manifestEntryPath(repository: string, digestOrTag: string): string {
  return `v2/${repository}/manifests/${digestOrTag}`;
}

/** `<path>.part-NNN`, numbered from 1. */
export function partPath(path: string, index: number): string {
  return `${path}.part-${String(index).padStart(3, '0')}`;
}

/** Why `target` is not an acceptable link target for the link at `path`, or undefined. */
export function linkProblem(type: 'symlink' | 'hardlink', path: string, target: unknown): string | undefined {
  if (typeof target !== 'string') return 'has no link target';
  const at = parseV2Path(path);
  if (type === 'symlink') {
    if (!DIGEST_NAME.test(target))
      return `symlink target ${JSON.stringify(target)} is not a bare sha256:<hex>`;
    if (at === undefined || at.kind !== 'manifests' || at.tag === undefined) {
      return 'a symlink must be a tag: v2/<repository>/manifests/<tag>';
    }
    return undefined;
  }
  if (at === undefined || at.kind !== 'manifests' || at.tag !== undefined) {
    return 'a hard link must be v2/<repository>/manifests/sha256:<hex>';
  }
  const expected = blobEntryPath(at.repository, at.name);
  if (target !== expected) {
    return `hard link target ${JSON.stringify(target)} is not ${expected}`;
  }
  return undefined;
}

export function isHex64(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
