/**
 * Paginated listings of the distribution API: the catalog (`GET /v2/_catalog`) and a
 * repository's tags (`GET /v2/<name>/tags/list`). Pages follow `Link: <…>; rel="next"`;
 * a registry that sends no Link but a full page is asked again with `last=<final entry>`
 * (the spec's `n`/`last` parameters). A loop in the pages is an error, not a hang.
 */
import { BaleError } from '../errors.js';
import { pullScope } from './auth-challenge.js';
import { readLimitedBody, redactUrl } from './http-error.js';
import { header, nextLink, type RegistryHttp } from './registry-http.js';

/** Page size asked for (`n`); registries may answer with fewer entries. */
export const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGES = 10_000;
/** Largest listing page bale reads (a catalog page of 1000 long names is ~300 KiB). */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/** The bearer scope that lets a client read the catalog. */
export const CATALOG_SCOPE = 'registry:catalog:*';

export interface ListOptions {
  /** `n` per page (default 1000). */
  pageSize?: number;
}

/** Every repository name the registry's catalog lists, in the registry's order. */
export function listCatalog(http: RegistryHttp, registry: string, opts: ListOptions = {}): Promise<string[]> {
  return listPages(http, {
    registry,
    path: '/v2/_catalog',
    key: 'repositories',
    what: `the repository catalog of ${registry}`,
    scope: CATALOG_SCOPE,
    pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
  });
}

/** Every tag of a repository, in the registry's order. */
export function listRepositoryTags(
  http: RegistryHttp,
  repo: { registry: string; repository: string },
  opts: ListOptions = {},
): Promise<string[]> {
  return listPages(http, {
    registry: repo.registry,
    path: `/v2/${repo.repository}/tags/list`,
    key: 'tags',
    what: `tags of ${repo.registry}/${repo.repository}`,
    scope: pullScope(repo.repository),
    pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
  });
}

interface Listing {
  registry: string;
  /** Path from the registry root, without query. */
  path: string;
  /** The JSON field holding the page's names. */
  key: 'repositories' | 'tags';
  what: string;
  scope: string;
  pageSize: number;
}

async function listPages(http: RegistryHttp, l: Listing): Promise<string[]> {
  const pageSize = Math.max(1, Math.floor(l.pageSize));
  const spec = { registry: l.registry, method: 'GET' as const, what: l.what };
  const names: string[] = [];
  const known = new Set<string>();
  const seen = new Set<string>();
  let target: string | undefined = `${l.path}?n=${pageSize}`;
  for (let page = 0; target !== undefined; page++) {
    if (page >= MAX_PAGES || seen.has(target)) {
      throw new BaleError('E_HTTP', `${l.what}: the registry's pages do not end`, {
        hint: 'The registry paginates in a loop; ask its administrator.',
        details: { pages: page },
      });
    }
    seen.add(target);
    const current: string = target;
    const { body, next, url } = await http.retry(current, l.what, async () => {
      const ex = await http.exchange({ ...spec, target: current, scopes: [l.scope], followRedirects: true });
      await http.expect(ex, [200], spec);
      const b = await readLimitedBody(
        ex.res.body,
        MAX_PAGE_BYTES,
        `${l.what}: a page`,
        ex.url,
        'The registry misbehaves; ask its administrator.',
      );
      return { body: b, next: nextLink(header(ex.res, 'link'), ex.url), url: ex.url };
    });
    const pageNames = parsePage(body, l, url);
    const fresh = pageNames.filter((n) => !known.has(n));
    for (const n of fresh) known.add(n);
    names.push(...fresh);
    const last = pageNames[pageNames.length - 1];
    if (next !== undefined) target = next;
    // No Link: a page of exactly n names may have a successor (`last=`); a registry
    // that ignores n (or last) answers with more, or with nothing new: that is all.
    else if (pageNames.length === pageSize && fresh.length > 0 && last !== undefined)
      target = `${l.path}?n=${pageSize}&last=${encodeURIComponent(last)}`;
    else target = undefined;
  }
  return names;
}

function parsePage(body: Buffer, l: Listing, url: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BaleError('E_HTTP', `${l.what}: the registry sent an unreadable page (not JSON)`, {
      hint: 'The registry does not follow the distribution API, or a proxy answered instead of it.',
      details: { url: redactUrl(url) },
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BaleError('E_HTTP', `${l.what}: the registry sent a page that is not a JSON object`, {
      hint: 'The registry does not follow the distribution API, or a proxy answered instead of it.',
      details: { url: redactUrl(url) },
    });
  }
  const list = (json as Record<string, unknown>)[l.key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
    throw new BaleError('E_HTTP', `${l.what}: "${l.key}" in the registry's answer is not a list of names`, {
      hint: 'The registry does not follow the distribution API.',
      details: { url: redactUrl(url) },
    });
  }
  return list as string[];
}
