/**
 * The pieces of a blob upload the monolithic and the chunked paths share: the upload
 * context, Locations, starting, cancelling and completing a session.
 */
import { BaleError } from '../errors.js';
import { pushScope } from './auth-challenge.js';
import type { BlobRepo } from './blob-download.js';
import { discardBody, parseRegistryErrors, readSmallBody, redactUrl } from './http-error.js';
import { header, type Exchange, type RegistryHttp } from './registry-http.js';
import type { Readable } from 'node:stream';
import type { UploadSettings } from './upload.js';

export const MIN_CHUNK = 256 * 1024;

/** Appends `key=value` to a URL without otherwise touching it. */
export function appendQuery(url: string, key: string, value: string): string {
  const hashAt = url.indexOf('#');
  const base = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
}

/** `0-<end>` (or `bytes=0-<end>`) → the next offset. `0-0` is read as nothing received (distribution's ambiguity). */
export function nextOffsetFromRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(value.trim());
  if (m === null) return undefined;
  const end = Number(m[2]);
  return end === 0 ? 0 : end + 1;
}

export interface PushContext {
  http: RegistryHttp;
  repo: BlobRepo;
  desc: { digest: string; size: number };
  open: () => Readable;
  settings: UploadSettings;
  what: string;
}

export function locationOf(ex: Exchange, what: string): string {
  const loc = header(ex.res, 'location');
  if (loc === undefined || loc.length === 0) {
    throw new BaleError('E_HTTP', `${what}: the registry answered ${ex.res.statusCode} without a Location`, {
      hint: 'The registry does not follow the distribution API; report it to its administrator.',
      details: { url: redactUrl(ex.url), status: ex.res.statusCode },
    });
  }
  return new URL(loc, ex.url).toString();
}

export function checkReturnedDigest(ex: Exchange, digest: string, what: string): void {
  const returned = header(ex.res, 'docker-content-digest');
  if (returned !== undefined && returned !== digest) {
    throw new BaleError('E_DIGEST_MISMATCH', `${what}: the registry stored ${returned}`, {
      hint: 'The registry computed a different digest for the pushed content; push again.',
      details: { expectedDigest: digest, actualDigest: returned, url: redactUrl(ex.url) },
    });
  }
}

export async function startUpload(ctx: PushContext): Promise<string> {
  const { http, repo } = ctx;
  const spec = {
    registry: repo.registry,
    method: 'POST' as const,
    what: `upload of ${ctx.desc.digest} to ${repo.registry}/${repo.repository}`,
  };
  const ex = await http.exchange({
    ...spec,
    target: `/v2/${repo.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes: [pushScope(repo.repository)],
  });
  await http.expect(ex, [202], spec);
  discardBody(ex.res.body);
  return locationOf(ex, spec.what);
}

export async function cancelUpload(ctx: PushContext, location: string): Promise<void> {
  try {
    const ex = await ctx.http.exchange({
      registry: ctx.repo.registry,
      method: 'DELETE',
      target: location,
      scopes: [pushScope(ctx.repo.repository)],
      what: `cancel upload to ${ctx.repo.repository}`,
    });
    discardBody(ex.res.body);
  } catch {
    // best effort: the registry purges abandoned uploads
  }
}

/** Maps the registry's DIGEST_INVALID / SIZE_INVALID answers to the digest/size codes. */
export async function expectCommitted(ex: Exchange, ctx: PushContext, method: 'PUT'): Promise<void> {
  if (ex.res.statusCode === 400) {
    const body = await readSmallBody(ex.res.body);
    const errors = parseRegistryErrors(body);
    const codes = errors.map((e) => e.code);
    const details = { url: redactUrl(ex.url), status: 400, registryErrors: errors };
    if (codes.includes('DIGEST_INVALID') || codes.includes('SIZE_INVALID')) {
      throw new BaleError(
        codes.includes('DIGEST_INVALID') ? 'E_DIGEST_MISMATCH' : 'E_SIZE_MISMATCH',
        `${ctx.what}: the registry says the uploaded content does not match`,
        {
          hint: 'The content pushed differs from its descriptor; the source may be damaged.',
          details,
        },
      );
    }
    throw new BaleError('E_HTTP', `PUT ${ctx.what} failed with HTTP 400`, {
      hint: 'See the registry error.',
      details,
    });
  }
  await ctx.http.expect(ex, [201], { registry: ctx.repo.registry, method, what: ctx.what });
  discardBody(ex.res.body);
  checkReturnedDigest(ex, ctx.desc.digest, ctx.what);
}
