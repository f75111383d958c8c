/**
 * What a live registry holds under a prefix, as an image set: every repository (from the
 * catalog, or the names given), every tag, each tag's manifest digest, and (unless
 * `minimal`) the children of manifest lists as untagged digests.
 */
import { BaleError, isBaleError } from '../../errors.js';
import { silentProgress, type Progress } from '../../progress.js';
import type { RegistryClient, Repo } from '../../registry/client.js';
import { isIndexMediaType, parseManifest } from '../../registry/manifest.js';
import { isRepositoryPath } from '../../registry/reference.js';
import {
  formatRegistryTarget,
  relativeToPrefix,
  underPrefix,
  type RegistryTarget,
} from '../../registry/registry-target.js';
import { ImageSet } from '../../sets/inventory.js';

export interface CollectRegistryOptions {
  client: RegistryClient;
  target: RegistryTarget;
  /** Repository names relative to the prefix; default: the catalog. */
  repositories?: string[];
  /** Leave out the untagged children of manifest lists. */
  minimal?: boolean;
  /** Catalog and tag list page size (default 1000). */
  pageSize?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

/** The image set a registry holds under the target's prefix (names relative to it). */
export async function collectRegistrySet(o: CollectRegistryOptions): Promise<ImageSet> {
  const progress = o.progress ?? silentProgress;
  const names = o.repositories !== undefined ? checkNames(o.repositories) : await catalogNames(o);
  progress.phase('read tags and manifests', { items: names.length });
  const set = new ImageSet();
  await Promise.all(
    names.map(async (name) => {
      o.signal?.throwIfAborted();
      await collectRepository(o, name, set, o.repositories !== undefined);
      progress.advance(0, 1);
    }),
  );
  return set;
}

function checkNames(names: string[]): string[] {
  for (const n of names) {
    if (!isRepositoryPath(n)) {
      throw new BaleError('E_USAGE', `--repository ${JSON.stringify(n)} is not a repository path`, {
        hint: 'Give the repository name relative to the prefix, e.g. --repository openshift/release.',
      });
    }
  }
  return [...new Set(names)].sort();
}

async function catalogNames(o: CollectRegistryOptions): Promise<string[]> {
  const progress = o.progress ?? silentProgress;
  progress.phase('list repositories');
  let all: string[];
  try {
    all = await o.client.listRepositories(o.target.registry, pageOpts(o));
  } catch (err) {
    throw catalogError(err, o.target);
  }
  const names: string[] = [];
  for (const repo of all) {
    if (o.target.prefix !== '' && repo === o.target.prefix) {
      progress.warn(
        `${repo} is itself a repository, and a snapshot lists what lies under the prefix: snapshot its parent, or name it with --repository`,
      );
    }
    const rel = relativeToPrefix(o.target, repo);
    if (rel !== undefined && rel !== '') names.push(rel);
  }
  return [...new Set(names)].sort();
}

const CATALOG_REFUSED: Record<string, string> = {
  E_AUTH: 'the catalog API is not allowed without other credentials',
  E_DENIED: 'the catalog API is not allowed for these credentials',
  E_NOT_FOUND: 'the registry has no catalog API (it is disabled)',
};

function catalogError(err: unknown, target: RegistryTarget): unknown {
  if (!isBaleError(err)) return err;
  const status = err.details.status;
  const why =
    CATALOG_REFUSED[err.code] ??
    (status === 405 || status === 501 ? 'the registry has no catalog API (it is disabled)' : undefined);
  if (why === undefined) return err;
  return new BaleError(
    'E_CATALOG_UNAVAILABLE',
    `cannot list the repositories of ${target.registry}: ${why} (${err.message})`,
    {
      hint: `Name the repositories with --repository NAME (repeatable, relative to ${formatRegistryTarget(target)}), or use credentials that may read the catalog.`,
      cause: err,
      details: { registry: target.registry, ...(typeof status === 'number' ? { status } : {}) },
    },
  );
}

function pageOpts(o: CollectRegistryOptions): { pageSize?: number } {
  return o.pageSize !== undefined ? { pageSize: o.pageSize } : {};
}

async function collectRepository(
  o: CollectRegistryOptions,
  name: string,
  set: ImageSet,
  named: boolean,
): Promise<void> {
  const repo: Repo = { registry: o.target.registry, repository: underPrefix(o.target, name) };
  let tags: string[];
  try {
    tags = await o.client.listTags(repo, pageOpts(o));
  } catch (err) {
    // distribution answers 404 NAME_UNKNOWN for a repository that holds manifests but no
    // tags: listed by the catalog, it has nothing a tag reaches.
    if (!named && isBaleError(err, 'E_NOT_FOUND')) return;
    if (named && isBaleError(err, 'E_NOT_FOUND')) {
      throw new BaleError(
        'E_NOT_FOUND',
        `repository ${repo.registry}/${repo.repository} does not exist (or has no tags)`,
        {
          hint: `Check --repository ${name}: names are relative to ${formatRegistryTarget(o.target)}.`,
          cause: err,
          details: { registry: repo.registry, repository: repo.repository },
        },
      );
    }
    throw err;
  }
  const indexes = new Set<string>();
  await Promise.all(
    tags.map(async (tag) => {
      o.signal?.throwIfAborted();
      const head = await o.client.headManifest(repo, tag);
      if (head === undefined) {
        o.progress?.warn(`${repo.registry}/${repo.repository}:${tag} disappeared while listing; left out`);
        return;
      }
      set.add({ name, digest: head.digest, tags: [tag] });
      if (!o.minimal && isIndexMediaType(head.mediaType)) indexes.add(head.digest);
    }),
  );
  await Promise.all(
    [...indexes].map(async (digest) => {
      o.signal?.throwIfAborted();
      const m = await o.client.getManifest(repo, digest);
      for (const child of parseManifest(m.bytes, m.mediaType).manifests)
        set.add({ name, digest: child.digest, tags: [] });
    }),
  );
}
