import type { BundleEntry, BundleIndex } from '../../bundle/index-schema.js';
import { parseV2Path } from '../../bundle/entry-path.js';
import { BaleError } from '../../errors.js';
import type { Repo } from '../../registry/client.js';

export interface Destination {
  registry: string;
  /** Repository prefix ('' for none). */
  prefix: string;
}

export function destRepository(dest: Destination, repository: string): string {
  return dest.prefix ? `${dest.prefix}/${repository}` : repository;
}

export interface RepoContent {
  repository: string;
  dest: Repo;
  blobs: BundleEntry[];
  blobDigest: Map<string, string>;
  /** Manifest digests in push order (children before parents). */
  manifests: string[];
  tags: { tag: string; digest: string }[];
}

/** A blob the mirror does not have yet. */
export interface MissingBlob {
  repo: RepoContent;
  entry: BundleEntry;
  digest: string;
}

/** Sorts a bundle's v2/ entries into repositories: blobs, manifests (in stream order) and tags. */
export function bundleRepositories(index: BundleIndex, dest: Destination): RepoContent[] {
  const repos = new Map<string, RepoContent>();
  const get = (repository: string): RepoContent => {
    let r = repos.get(repository);
    if (!r) {
      r = {
        repository,
        dest: { registry: dest.registry, repository: destRepository(dest, repository) },
        blobs: [],
        blobDigest: new Map(),
        manifests: [],
        tags: [],
      };
      repos.set(repository, r);
    }
    return r;
  };
  for (const e of index.entries) {
    const p = parseV2Path(e.path);
    if (!p) continue;
    const r = get(p.repository);
    if (p.kind === 'blobs' && e.type === 'file') {
      r.blobs.push(e);
      r.blobDigest.set(e.path, p.name);
    } else if (p.kind === 'manifests' && e.type === 'hardlink') {
      r.manifests.push(p.name);
    } else if (p.kind === 'manifests' && e.type === 'symlink' && e.linkTarget) {
      r.tags.push({ tag: p.name, digest: e.linkTarget });
    }
  }
  // A manifest is stored as a blob too (oc's layout); registries keep manifests apart.
  for (const r of repos.values()) {
    const manifests = new Set(r.manifests);
    r.blobs = r.blobs.filter((b) => !manifests.has(r.blobDigest.get(b.path) ?? ''));
  }
  return [...repos.values()];
}

/**
 * The repositories to push, decided from the index before anything is sent: only the
 * repositories of the bundle's images (content elsewhere under v2/ is refused).
 */
export function pushableRepositories(index: BundleIndex, dest: Destination): RepoContent[] {
  const repos = bundleRepositories(index, dest);
  const imageRepos = new Set(index.images.map((i) => i.repository));
  const stray = repos.filter((r) => !imageRepos.has(r.repository)).map((r) => r.repository);
  if (stray.length > 0) {
    throw new BaleError(
      'E_BUNDLE_INVALID',
      `the bundle has content under v2/ in ${stray.join(', ')}, which is no image's repository`,
      {
        hint: 'Nothing was pushed. This is not a bundle bale wrote; get an intact copy.',
        details: { stray },
      },
    );
  }
  return repos;
}
