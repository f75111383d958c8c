/**
 * Blob push: HEAD (present?), cross-repository mount from each candidate repository,
 * then a monolithic PUT, or a chunked PATCH upload when the blob is larger than the
 * threshold or the registry refuses the monolithic PUT (413/405). Upload Locations
 * are never rebuilt: the digest is appended to them as a query parameter.
 */
import { type Readable, Transform } from 'node:stream';
import { HashingStream } from '../digest.js';
import { isBaleError } from '../errors.js';
import { pullScope, pushScope } from './auth-challenge.js';
import type { BlobRepo } from './blob-download.js';
import { chunkedUpload } from './chunked-upload.js';
import { discardBody } from './http-error.js';
import type { RegistryHttp } from './registry-http.js';
import { markTransient } from './retry.js';
import {
  appendQuery,
  cancelUpload,
  checkReturnedDigest,
  expectCommitted,
  locationOf,
  startUpload,
  type PushContext,
} from './upload-http.js';

export { appendQuery, nextOffsetFromRange } from './upload-http.js';

export interface UploadSettings {
  /** Bytes of the first PATCH in a chunked upload. */
  chunkSize: number;
  /**
   * After two PATCHes of chunkSize, each acknowledged PATCH doubles the next one up to
   * this size (default: chunkSize, no growth). Fewer, larger PATCHes cost the registry less; a kill loses at most one.
   */
  maxChunkSize?: number;
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
  maxChunkSize: 64 * 1024 * 1024,
  monolithicMaxBytes: Number.MAX_SAFE_INTEGER,
};

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
