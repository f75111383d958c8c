/**
 * Blob push: HEAD (present?), cross-repository mount from each candidate repository,
 * then a monolithic PUT, or a chunked PATCH upload when the blob is larger than the
 * threshold or the registry refuses the monolithic PUT (413/405). Upload Locations
 * are never rebuilt: the digest is appended to them as a query parameter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Readable, Transform } from 'node:stream';
import { HashingStream } from '../digest.js';
import { BaleError, isBaleError } from '../errors.js';
import { pullScope, pushScope } from './auth-challenge.js';
import type { BlobRepo } from './blob-download.js';
import { ChunkSource } from './chunk-source.js';
import { discardBody, parseRegistryErrors, readSmallBody, redactUrl } from './http-error.js';
import { header, type Exchange, type RegistryHttp } from './registry-http.js';
import { backoffDelay, exhausted, markTransient, transientReason } from './retry.js';

export interface UploadSettings {
  /** Bytes per PATCH in a chunked upload. */
  chunkSize: number;
  /** Blobs larger than this go up in chunks. */
  monolithicMaxBytes: number;
}

/**
 * By default every blob goes up in one streamed PUT, whatever its size: the body
 * streams from its source with backpressure, so memory stays flat, and a cut upload is
 * retried from the start of the blob. Chunked PATCH is the fallback for registries that
 * refuse the monolithic PUT (413/405), or when `monolithicMaxBytes` is set lower.
 */
export const DEFAULT_UPLOAD: UploadSettings = {
  chunkSize: 8 * 1024 * 1024,
  monolithicMaxBytes: Number.MAX_SAFE_INTEGER,
};
const MIN_CHUNK = 256 * 1024;

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

interface PushContext {
  http: RegistryHttp;
  repo: BlobRepo;
  desc: { digest: string; size: number };
  open: () => Readable;
  settings: UploadSettings;
  what: string;
}

export async function blobExistsIn(
  http: RegistryHttp,
  repo: BlobRepo,
  digest: string,
  scopes?: string[],
): Promise<boolean> {
  const target = `/v2/${repo.repository}/blobs/${digest}`;
  const spec = {
    registry: repo.registry,
    method: 'HEAD' as const,
    what: `blob ${digest} in ${repo.registry}/${repo.repository}`,
  };
  return http.retry(target, spec.what, async () => {
    const ex = await http.exchange({
      ...spec,
      target,
      scopes: scopes ?? [pullScope(repo.repository)],
      followRedirects: true,
    });
    if (ex.res.statusCode === 404) {
      discardBody(ex.res.body);
      return false;
    }
    await http.expect(ex, [200], spec);
    discardBody(ex.res.body);
    return true;
  });
}

export async function pushBlobTo(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  open: () => Readable,
  mountFrom: readonly string[],
  settings: UploadSettings,
): Promise<'present' | 'mounted' | 'uploaded'> {
  const what = `blob ${desc.digest} to ${repo.registry}/${repo.repository}`;
  const ctx: PushContext = { http, repo, desc, open, settings, what };
  if (await blobExistsIn(http, repo, desc.digest, [pushScope(repo.repository)])) return 'present';

  let session: string | undefined;
  const candidates = [...new Set(mountFrom)].filter((f) => f !== repo.repository);
  for (const [i, from] of candidates.entries()) {
    const r = await tryMount(ctx, from);
    if (r === 'mounted') {
      http.stats.blobMounts++;
      return 'mounted';
    }
    if (r !== undefined) {
      if (i === candidates.length - 1) session = r;
      else await cancelUpload(ctx, r);
    }
  }

  const startUrl = `/v2/${repo.repository}/blobs/uploads/`;
  // Each request has its own retry budget: the outer one counts failed data transfers
  // only; opening a session (POST) retries on its own.
  const openSession = (): Promise<string> => http.retry(startUrl, what, () => startUpload(ctx));
  await http.retry(startUrl, what, async () => {
    const location = session ?? (await openSession());
    session = undefined;
    try {
      if (desc.size > settings.monolithicMaxBytes) return await chunkedUpload(ctx, location);
      if ((await monolithicUpload(ctx, location)) === 'refused') {
        await cancelUpload(ctx, location);
        return await chunkedUpload(ctx, await openSession());
      }
    } catch (err) {
      // The registry dropped the upload session (distribution does after a cut PATCH):
      // start over with a new one.
      if (isBaleError(err, 'E_NOT_FOUND')) throw markTransient(err, 'upload session lost');
      throw err;
    }
  });
  http.stats.blobUploads++;
  return 'uploaded';
}

/** POST a mount; 'mounted', an upload Location (202), or undefined when the mount is not allowed. */
async function tryMount(ctx: PushContext, from: string): Promise<'mounted' | string | undefined> {
  const { http, repo, desc } = ctx;
  const target = `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
  const spec = {
    registry: repo.registry,
    method: 'POST' as const,
    what: `mount of ${desc.digest} from ${from} into ${repo.repository}`,
  };
  try {
    return await http.retry(target, spec.what, async () => {
      const ex = await http.exchange({
        ...spec,
        target,
        headers: { 'content-length': '0' },
        scopes: [pushScope(repo.repository), pullScope(from)],
      });
      await http.expect(ex, [201, 202], spec);
      discardBody(ex.res.body);
      if (ex.res.statusCode === 201) {
        checkReturnedDigest(ex, desc.digest, spec.what);
        return 'mounted';
      }
      return locationOf(ex, spec.what);
    });
  } catch (err) {
    // Not allowed to read `from` (or it does not exist there): upload instead.
    if (isBaleError(err, 'E_AUTH') || isBaleError(err, 'E_DENIED') || isBaleError(err, 'E_NOT_FOUND'))
      return undefined;
    throw err;
  }
}

function locationOf(ex: Exchange, what: string): string {
  const loc = header(ex.res, 'location');
  if (loc === undefined || loc.length === 0) {
    throw new BaleError('E_HTTP', `${what}: the registry answered ${ex.res.statusCode} without a Location`, {
      hint: 'The registry does not follow the distribution API; report it to its administrator.',
      details: { url: redactUrl(ex.url), status: ex.res.statusCode },
    });
  }
  return new URL(loc, ex.url).toString();
}

function checkReturnedDigest(ex: Exchange, digest: string, what: string): void {
  const returned = header(ex.res, 'docker-content-digest');
  if (returned !== undefined && returned !== digest) {
    throw new BaleError('E_DIGEST_MISMATCH', `${what}: the registry stored ${returned}`, {
      hint: 'The registry computed a different digest for the pushed content; push again.',
      details: { expectedDigest: digest, actualDigest: returned, url: redactUrl(ex.url) },
    });
  }
}

async function startUpload(ctx: PushContext): Promise<string> {
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

async function cancelUpload(ctx: PushContext, location: string): Promise<void> {
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
async function expectCommitted(ex: Exchange, ctx: PushContext, method: 'PUT'): Promise<void> {
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

function localBody(ctx: PushContext): Readable {
  const src = ctx.open();
  const check = new HashingStream({
    digest: ctx.desc.digest,
    size: ctx.desc.size,
    what: `local source of ${ctx.what}`,
  });
  const stats = ctx.http.stats;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      stats.bytesUploaded += chunk.length;
      cb(null, chunk);
    },
  });
  src.on('error', (err) => check.destroy(err));
  check.on('error', (err) => {
    src.destroy();
    count.destroy(err);
  });
  return src.pipe(check).pipe(count);
}

async function monolithicUpload(ctx: PushContext, location: string): Promise<'done' | 'refused'> {
  const { http, repo, desc } = ctx;
  const ex = await http.exchange({
    registry: repo.registry,
    method: 'PUT',
    target: appendQuery(location, 'digest', desc.digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
    body: () => localBody(ctx),
    scopes: [pushScope(repo.repository)],
    what: ctx.what,
  });
  if (ex.res.statusCode === 413 || ex.res.statusCode === 405) {
    discardBody(ex.res.body);
    return 'refused';
  }
  await expectCommitted(ex, ctx, 'PUT');
  return 'done';
}

/** GET the upload Location: where to continue (and the newest Location). */
async function uploadStatus(ctx: PushContext, location: string): Promise<{ url: string; next: number }> {
  const { http, repo } = ctx;
  const spec = { registry: repo.registry, method: 'GET' as const, what: `status of ${ctx.what}` };
  return http.retry(location, spec.what, async () => {
    const ex = await http.exchange({ ...spec, target: location, scopes: [pushScope(repo.repository)] });
    await http.expect(ex, [204, 200], spec);
    discardBody(ex.res.body);
    const loc = header(ex.res, 'location');
    return {
      url: loc === undefined ? location : new URL(loc, ex.url).toString(),
      next: nextOffsetFromRange(header(ex.res, 'range')) ?? 0,
    };
  });
}

async function chunkedUpload(ctx: PushContext, location: string): Promise<void> {
  const { http, repo, desc } = ctx;
  const source = new ChunkSource(ctx.open, desc.size, `local source of ${ctx.what}`);
  let url = location;
  let offset = 0;
  let chunkSize = ctx.settings.chunkSize;
  let failures = 0;
  try {
    while (offset < desc.size) {
      const chunk = await source.read(offset, chunkSize);
      const end = offset + chunk.length - 1;
      try {
        const ex = await http.exchange({
          registry: repo.registry,
          method: 'PATCH',
          target: url,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(chunk.length),
            'content-range': `${offset}-${end}`,
          },
          body: chunk,
          scopes: [pushScope(repo.repository)],
          what: ctx.what,
        });
        if (ex.res.statusCode === 416) {
          discardBody(ex.res.body);
          if (++failures >= http.policy.attempts) throw rangeLoop(ctx, ex.url);
          const st = await uploadStatus(ctx, url);
          url = st.url;
          offset = st.next;
          continue;
        }
        if (ex.res.statusCode === 413 && chunkSize > MIN_CHUNK) {
          discardBody(ex.res.body);
          chunkSize = Math.max(MIN_CHUNK, Math.floor(chunkSize / 2));
          continue;
        }
        // ECR answers PATCH with 201.
        await http.expect(ex, [202, 201, 204], { registry: repo.registry, method: 'PATCH', what: ctx.what });
        discardBody(ex.res.body);
        http.stats.bytesUploaded += chunk.length;
        const loc = header(ex.res, 'location');
        if (loc !== undefined) url = new URL(loc, ex.url).toString();
        const next = nextOffsetFromRange(header(ex.res, 'range'));
        offset = next !== undefined && next > 0 && next < end + 1 ? next : end + 1;
        failures = 0;
      } catch (err) {
        const t = transientReason(err);
        if (t === undefined) throw err;
        if (++failures >= http.policy.attempts) throw exhausted(err, t.reason, failures, url, ctx.what);
        const delayMs = backoffDelay(failures, http.policy);
        http.policy.countRetry?.();
        http.policy.onRetry?.({
          url: redactUrl(url),
          attempt: failures,
          reason: `${t.reason} at byte ${offset}`,
          delayMs,
        });
        await sleep(delayMs);
        const st = await uploadStatus(ctx, url);
        url = st.url;
        offset = st.next;
      }
    }
  } finally {
    source.close();
  }
  const ex = await http.exchange({
    registry: repo.registry,
    method: 'PUT',
    target: appendQuery(url, 'digest', desc.digest),
    headers: { 'content-length': '0' },
    scopes: [pushScope(repo.repository)],
    what: ctx.what,
  });
  await expectCommitted(ex, ctx, 'PUT');
}

function rangeLoop(ctx: PushContext, url: string): BaleError {
  return new BaleError('E_HTTP', `${ctx.what}: the registry keeps rejecting the upload range (HTTP 416)`, {
    hint: 'The registry lost track of the upload; push again.',
    details: { url: redactUrl(url), status: 416 },
  });
}
