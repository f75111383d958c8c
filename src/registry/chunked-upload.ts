/**
 * Chunked PATCH uploads: each chunk acknowledged by the registry (its Range), a lost
 * chunk re-sent from where the registry says it is; the upload completed by a PUT with
 * the digest. Used when the monolithic PUT is refused or for blobs above the threshold,
 * and for staged uploads (upload-session.ts) that resume across runs.
 */
import { BaleError } from '../errors.js';
import { pushScope } from './auth-challenge.js';
import { ChunkSource } from './chunk-source.js';
import { discardBody, redactUrl } from './http-error.js';
import { header } from './registry-http.js';
import { backoffDelay, backoffSleep, exhausted, transientReason } from './retry.js';
import {
  appendQuery,
  expectCommitted,
  MIN_CHUNK,
  nextOffsetFromRange,
  type PushContext,
} from './upload-http.js';

/** GET the upload Location: where to continue (and the newest Location). */
export async function uploadStatus(
  ctx: PushContext,
  location: string,
): Promise<{ url: string; next: number }> {
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

/** An upload's newest Location and the bytes the registry acknowledged. */
export interface UploadProgress {
  location: string;
  offset: number;
}

/** Sends the whole blob in chunks, then completes the upload. */
export async function chunkedUpload(ctx: PushContext, location: string): Promise<void> {
  await completeUpload(ctx, await sendChunks(ctx, location));
}

/**
 * PATCHes the blob's bytes from `start` to its end in chunks (the source is read from
 * its beginning; the bytes before `start` are skipped, not sent). `onAck` hears each
 * acknowledged chunk. Returns the newest Location; the upload is not completed.
 */
export async function sendChunks(
  ctx: PushContext,
  location: string,
  start = 0,
  onAck?: (p: UploadProgress) => Promise<void> | void,
): Promise<string> {
  const { http, repo, desc } = ctx;
  const source = new ChunkSource(ctx.open, desc.size, `local source of ${ctx.what}`);
  let url = location;
  let offset = start;
  let chunkSize = ctx.settings.chunkSize;
  let maxChunk = Math.max(chunkSize, ctx.settings.maxChunkSize ?? chunkSize);
  let failures = 0;
  let acked = 0;
  try {
    while (offset < desc.size) {
      const length = Math.min(chunkSize, desc.size - offset);
      const end = offset + length - 1;
      const from = offset;
      try {
        const ex = await http.exchange({
          registry: repo.registry,
          method: 'PATCH',
          target: url,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(length),
            'content-range': `${from}-${end}`,
          },
          // Called again for a re-sent request (after a 401): the source goes back to `from`.
          body: () => source.body(from, length),
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
          // Never grow back to a size the registry (or a proxy before it) refused.
          maxChunk = Math.min(maxChunk, chunkSize);
          continue;
        }
        // ECR answers PATCH with 201.
        await http.expect(ex, [202, 201, 204], { registry: repo.registry, method: 'PATCH', what: ctx.what });
        discardBody(ex.res.body);
        http.stats.bytesUploaded += length;
        const loc = header(ex.res, 'location');
        if (loc !== undefined) url = new URL(loc, ex.url).toString();
        const next = nextOffsetFromRange(header(ex.res, 'range'));
        offset = next !== undefined && next > 0 && next < end + 1 ? next : end + 1;
        failures = 0;
        // After two chunks of the first size, each is twice the last (fewer requests for
        // the registry to book-keep), up to maxChunkSize: a kill loses at most one chunk.
        if (++acked >= 2) chunkSize = Math.min(maxChunk, chunkSize * 2);
        await onAck?.({ location: url, offset });
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
        await backoffSleep(delayMs, http.policy);
        const st = await uploadStatus(ctx, url);
        url = st.url;
        offset = st.next;
      }
    }
  } finally {
    source.close();
  }
  return url;
}

/** PUT with the digest: the registry completes the upload only if the bytes hash to it. */
export async function completeUpload(ctx: PushContext, url: string): Promise<void> {
  const { http, repo, desc } = ctx;
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
