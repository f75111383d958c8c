/**
 * The OCI 1.1 referrers API (opencontainers/distribution-spec, "Listing Referrers"):
 * `GET /v2/<name>/referrers/<digest>[?artifactType=…]` answers an OCI image index whose
 * `manifests` are the descriptors (with `artifactType`) of the manifests whose `subject`
 * is `<digest>`. A registry without the API answers 404 (distribution 2.8 does), which is
 * reported as `undefined` so callers fall back to the tag scheme. The server may or may
 * not apply the `artifactType` filter (it says so in `OCI-Filters-Applied`); the filter
 * is applied here again either way. Pages are followed through `Link: <…>; rel="next"`.
 */
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';
import { pullScope } from './auth-challenge.js';
import { discardBody, readLimitedBody, redactUrl } from './http-error.js';
import { header, nextLink, type RegistryHttp } from './registry-http.js';

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Statuses meaning "no referrers API here" rather than an error. */
const UNSUPPORTED = new Set([404, 405, 501]);
const MAX_PAGES = 100;

function badAnswer(what: string, why: string, url: string): BaleError {
  return new BaleError('E_HTTP', `${what}: the registry sent an unreadable referrers list (${why})`, {
    hint: 'The registry does not follow the OCI distribution referrers API; ask its administrator.',
    details: { url: redactUrl(url) },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseReferrersIndex(body: Buffer, what: string, url: string): ReferrerDescriptor[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw badAnswer(what, 'not JSON', url);
  }
  if (!isRecord(json) || json.schemaVersion !== 2) throw badAnswer(what, 'not an OCI index', url);
  if (json.mediaType !== undefined && json.mediaType !== OCI_INDEX) {
    throw badAnswer(what, `media type ${String(json.mediaType)}`, url);
  }
  const manifests = json.manifests ?? [];
  if (!Array.isArray(manifests)) throw badAnswer(what, 'manifests is not an array', url);
  return manifests.map((m: unknown, i) => {
    if (!isRecord(m)) throw badAnswer(what, `manifests[${i}] is not an object`, url);
    const { mediaType, digest, size, artifactType, annotations } = m;
    if (
      typeof mediaType !== 'string' ||
      !isDigest(digest) ||
      typeof size !== 'number' ||
      !Number.isSafeInteger(size) ||
      size < 0
    ) {
      throw badAnswer(what, `manifests[${i}] is not a descriptor`, url);
    }
    const d: ReferrerDescriptor = { mediaType, digest, size };
    if (typeof artifactType === 'string') d.artifactType = artifactType;
    if (isRecord(annotations)) {
      d.annotations = Object.fromEntries(
        Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
    }
    return d;
  });
}

/** Call inside one of the registry's slots (RegistryClient.referrers does). */
export async function fetchReferrers(
  http: RegistryHttp,
  repo: { registry: string; repository: string },
  digest: string,
  artifactType: string | undefined,
  maxBytes: number,
): Promise<ReferrerDescriptor[] | undefined> {
  const what = `referrers of ${digest} in ${repo.registry}/${repo.repository}`;
  const spec = { registry: repo.registry, method: 'GET' as const, what };
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  let target: string | undefined = `/v2/${repo.repository}/referrers/${digest}${query}`;
  const out: ReferrerDescriptor[] = [];
  const seen = new Set<string>();
  for (let page = 0; target !== undefined; page++) {
    if (page >= MAX_PAGES || seen.has(target)) {
      throw new BaleError('E_HTTP', `${what}: the registry's referrers pages do not end`, {
        hint: 'The registry paginates in a loop; ask its administrator.',
        details: { pages: page },
      });
    }
    seen.add(target);
    const current: string = target;
    const answer = await http.retry(current, what, async () => {
      const ex = await http.exchange({
        ...spec,
        target: current,
        headers: { accept: OCI_INDEX },
        scopes: [pullScope(repo.repository)],
        followRedirects: true,
      });
      if (page === 0 && UNSUPPORTED.has(ex.res.statusCode)) {
        discardBody(ex.res.body);
        return undefined;
      }
      await http.expect(ex, [200], spec);
      const hint = 'A referrers list is small; the registry misbehaves.';
      const body = await readLimitedBody(ex.res.body, maxBytes, what, ex.url, hint);
      return {
        descriptors: parseReferrersIndex(body, what, ex.url),
        next: nextLink(header(ex.res, 'link'), ex.url),
      };
    });
    if (answer === undefined) return undefined;
    out.push(...answer.descriptors);
    target = answer.next;
  }
  return artifactType === undefined ? out : out.filter((d) => d.artifactType === artifactType);
}
