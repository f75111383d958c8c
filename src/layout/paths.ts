import { BaleError } from '../errors.js';
import { digestHex, isDigest } from '../digest.js';

/**
 * Paths of oc's `v2/` mirror layout (formats.md §2), relative to the layout root,
 * always '/'-separated:
 *   v2/<repo>/blobs/sha256:<hex>       the blob's bytes
 *   v2/<repo>/manifests/sha256:<hex>   hard link to the blob of the same digest
 *   v2/<repo>/manifests/<tag>          symlink whose target is the bare "sha256:<hex>"
 */

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** True when `repo` is a repository path safe to use as a directory path under v2/. */
export function isRepositoryPath(repo: string): boolean {
  if (repo.length === 0 || repo.length > 255) return false;
  return repo.split('/').every((part) => REPO_COMPONENT.test(part));
}

export function assertRepositoryPath(repo: string): void {
  if (!isRepositoryPath(repo)) {
    throw new BaleError('E_REFERENCE', `repository path ${JSON.stringify(repo)} is not valid`, {
      hint: 'Repository paths are lowercase components of letters, digits and . _ - separated by /.',
    });
  }
}

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

export function blobPath(repo: string, digest: string): string {
  assertRepositoryPath(repo);
  return `v2/${repo}/blobs/sha256:${digestHex(digest)}`;
}

/** `v2/<repo>/manifests/<sha256:hex | tag>`. */
export function manifestPath(repo: string, digestOrTag: string): string {
  assertRepositoryPath(repo);
  if (!isDigest(digestOrTag) && !isTag(digestOrTag)) {
    throw new BaleError('E_REFERENCE', `${JSON.stringify(digestOrTag)} is neither a digest nor a tag`);
  }
  return `v2/${repo}/manifests/${digestOrTag}`;
}

export interface LayoutPath {
  repository: string;
  kind: 'blob' | 'manifest';
  /** `sha256:<hex>` or a tag (manifests only). */
  name: string;
}

/** Splits a layout path into repository, kind and name; undefined if it is not one. */
export function parseLayoutPath(path: string): LayoutPath | undefined {
  const m = /^v2\/(.+)\/(blobs|manifests)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const [, repository, dir, name] = m as unknown as [string, string, string, string];
  if (!isRepositoryPath(repository)) return undefined;
  if (dir === 'blobs') return isDigest(name) ? { repository, kind: 'blob', name } : undefined;
  return isDigest(name) || isTag(name) ? { repository, kind: 'manifest', name } : undefined;
}
