/**
 * Blob downloads: a verified byte stream that resumes an interrupted body with
 * `Range: bytes=<n>-` (skipping the first n bytes when the server answers 200 again),
 * and a file download that continues a `.partial` file left by a crashed run.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { BaleError, isBaleError } from '../errors.js';
import { pullScope } from './auth-challenge.js';
import { discardBody, networkError, redactUrl, transientNetworkReason } from './http-error.js';
import { header, type RegistryHttp } from './registry-http.js';
import { backoffDelay, backoffSleep, exhausted } from './retry.js';

export interface BlobRepo {
  registry: string;
  repository: string;
}

export interface BlobChunksOptions {
  /** Start here (bytes already held by the caller). */
  offset: number;
  /** Hash to continue (seeded with the caller's first `offset` bytes); checked against the digest at the end. */
  hash?: Hash;
}

function blobWhat(repo: BlobRepo, digest: string): string {
  return `blob ${digest} in ${repo.registry}/${repo.repository}`;
}

/** `bytes <start>-<end>/<total>` → start, or undefined. */
function contentRangeStart(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^bytes\s+(\d+)-\d+\/(\d+|\*)$/i.exec(value.trim());
  return m === null ? undefined : Number(m[1]);
}

/** One GET of the blob from `pos`: the response and how many of its first bytes to drop. */
async function requestFrom(
  http: RegistryHttp,
  repo: BlobRepo,
  what: string,
  target: string,
  pos: number,
  size: number | undefined,
): Promise<{ ex: { res: Dispatcher.ResponseData; url: string }; skip: number }> {
  const spec = { registry: repo.registry, method: 'GET' as const, what };
  const ex = await http.retry(target, what, async () => {
    const e = await http.exchange({
      ...spec,
      target,
      headers: pos > 0 ? { range: `bytes=${pos}-` } : {},
      scopes: [pullScope(repo.repository)],
      followRedirects: true,
    });
    if (e.res.statusCode === 416 && pos > 0) throw shorterThanSaid(e, what, pos, size);
    await http.expect(e, [200, 206], spec);
    return e;
  });
  if (ex.res.statusCode !== 206) return { ex, skip: pos }; // 200: the server ignored Range
  const start = contentRangeStart(header(ex.res, 'content-range'));
  if (start === undefined || start > pos) {
    ex.res.body.destroy();
    throw new BaleError(
      'E_HTTP',
      `${what}: the registry answered a range request with an unusable Content-Range`,
      {
        hint: 'The registry or a proxy mangles range requests; retry the download from the start.',
        details: { url: redactUrl(ex.url), status: 206, offset: pos },
      },
    );
  }
  return { ex, skip: pos - start };
}

/**
 * A Range request past the end (416) after a body that ended early: the registry holds
 * fewer bytes than the manifest says, which no retry changes.
 */
function shorterThanSaid(
  e: { res: Dispatcher.ResponseData; url: string },
  what: string,
  pos: number,
  size: number | undefined,
): BaleError {
  discardBody(e.res.body);
  const total = /\/(\d+)\s*$/.exec(header(e.res, 'content-range') ?? '')?.[1];
  const has = total !== undefined ? `${total} bytes` : `${pos} bytes`;
  return new BaleError(
    'E_SIZE_MISMATCH',
    `${what}: the registry has ${has} of it${size !== undefined ? `, the manifest says ${size}` : ''}`,
    {
      hint: 'The registry serves different content than the manifest describes; report it to the registry administrator.',
      details: {
        expectedSize: size,
        actualSize: total !== undefined ? Number(total) : pos,
        url: redactUrl(e.url),
      },
    },
  );
}

/** The size and digest checks once every byte arrived. */
function checkComplete(
  what: string,
  desc: { digest: string; size?: number },
  pos: number,
  hash?: Hash,
): void {
  if (desc.size !== undefined && pos !== desc.size) {
    throw new BaleError('E_SIZE_MISMATCH', `${what}: got ${pos} bytes, expected ${desc.size}`, {
      details: { expectedSize: desc.size, actualSize: pos },
    });
  }
  if (hash === undefined) return;
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== desc.digest) {
    throw new BaleError('E_DIGEST_MISMATCH', `${what}: content is ${actual}`, {
      hint: 'The registry served corrupt content; try again, and report it to the registry administrator if it persists.',
      details: { expectedDigest: desc.digest, actualDigest: actual },
    });
  }
}

/**
 * The blob's bytes from `offset`, resuming after resets and stalls. Holds one of the
 * registry's concurrency slots from the first read to the end (or destroy).
 */
export async function* blobChunks(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size?: number },
  opts: BlobChunksOptions,
): AsyncGenerator<Buffer> {
  const what = blobWhat(repo, desc.digest);
  const target = `/v2/${repo.repository}/blobs/${desc.digest}`;
  const size = desc.size;
  const state = { pos: opts.offset, failures: 0, posAtLastFailure: -1 };

  if (size !== undefined && state.pos > size) {
    throw new BaleError('E_SIZE_MISMATCH', `${what}: offset ${state.pos} is past the blob size ${size}`, {
      details: { expectedSize: size, offset: state.pos },
    });
  }

  const release = await http.acquire(repo.registry);
  let current: Dispatcher.ResponseData | undefined;
  try {
    while (size === undefined || state.pos < size || (state.pos === 0 && size === 0)) {
      const { ex, skip } = await requestFrom(http, repo, what, target, state.pos, size);
      current = ex.res;
      let failure: unknown;
      try {
        for await (const b of bodyFrom(ex, skip, size, state.pos, what)) {
          opts.hash?.update(b);
          state.pos += b.length;
          http.stats.bytesDownloaded += b.length;
          yield b;
        }
      } catch (err) {
        if (isBaleError(err)) throw err;
        failure = err;
      } finally {
        current.body.destroy();
        current = undefined;
      }
      if (failure === undefined) {
        // A clean end: done, unless a known size says the body was cut short.
        if (size === undefined || state.pos >= size) break;
        failure = Object.assign(new Error(`body ended after ${state.pos} of ${size} bytes`), {
          code: 'ECONNRESET',
        });
      }
      await backOffOrThrow(http, repo, what, ex.url, failure, state);
    }
    checkComplete(what, desc, state.pos, opts.hash);
  } finally {
    current?.body.destroy();
    release();
  }
}

/** A response body without its first `skip` bytes; more than `size` in all is an error. */
async function* bodyFrom(
  ex: { res: Dispatcher.ResponseData; url: string },
  skip: number,
  size: number | undefined,
  pos: number,
  what: string,
): AsyncGenerator<Buffer> {
  for await (const chunk of ex.res.body) {
    let b = chunk as Buffer;
    if (skip > 0) {
      if (b.length <= skip) {
        skip -= b.length;
        continue;
      }
      b = b.subarray(skip);
      skip = 0;
    }
    if (size !== undefined && pos + b.length > size) {
      throw new BaleError('E_SIZE_MISMATCH', `${what}: more than the expected ${size} bytes`, {
        hint: 'The registry served different content than the manifest describes.',
        details: { expectedSize: size, url: redactUrl(ex.url) },
      });
    }
    pos += b.length;
    yield b;
  }
}

/**
 * After a cut body: waits before the next Range request, or throws when the failure is
 * not transient or the same position failed too often (progress resets the count).
 */
async function backOffOrThrow(
  http: RegistryHttp,
  repo: BlobRepo,
  what: string,
  url: string,
  failure: unknown,
  state: { pos: number; failures: number; posAtLastFailure: number },
): Promise<void> {
  const reason = transientNetworkReason(failure);
  const asError = (): BaleError =>
    networkError(failure, { method: 'GET', url, registry: repo.registry, what });
  if (reason === undefined) throw asError();
  state.failures = state.pos > state.posAtLastFailure ? 1 : state.failures + 1;
  state.posAtLastFailure = state.pos;
  if (state.failures >= http.policy.attempts) throw exhausted(asError(), reason, state.failures, url, what);
  const delayMs = backoffDelay(state.failures, http.policy);
  http.policy.countRetry?.();
  http.policy.onRetry?.({
    url: redactUrl(url),
    attempt: state.failures,
    reason: `${reason} at byte ${state.pos}`,
    delayMs,
  });
  await backoffSleep(delayMs, http.policy);
}

/** A byte stream of a blob; verified (size and digest) when read from offset 0. */
export function openBlobStream(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size?: number },
  offset = 0,
): Readable {
  const opts: BlobChunksOptions = offset === 0 ? { offset, hash: createHash('sha256') } : { offset };
  return Readable.from(blobChunks(http, repo, desc, opts), { objectMode: false });
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  await pipeline(createReadStream(path), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) hash.update(chunk);
    yield* [];
  });
}

/**
 * Downloads a blob to `destPath` through `<destPath>.partial`, continuing an existing
 * partial file (re-hashed first) with a range request. Renames once the digest checks.
 */
export async function downloadBlobToFile(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  destPath: string,
  onBytes?: (n: number) => void,
): Promise<{ resumedFrom: number }> {
  const partial = `${destPath}.partial`;
  let hash = createHash('sha256');
  let resumedFrom = 0;
  try {
    const st = await stat(partial);
    if (st.isFile() && st.size <= desc.size) {
      await hashFile(partial, hash);
      resumedFrom = st.size;
    } else {
      await rm(partial, { force: true });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, partial);
  }
  if (resumedFrom === desc.size && resumedFrom > 0) {
    const actual = `sha256:${hash.copy().digest('hex')}`;
    if (actual === desc.digest) {
      await rename(partial, destPath).catch((err: unknown) => {
        throw ioError(err, destPath);
      });
      return { resumedFrom };
    }
    // complete but wrong: start over
    await rm(partial, { force: true });
    hash = createHash('sha256');
    resumedFrom = 0;
  }

  const source = Readable.from(blobChunks(http, repo, desc, { offset: resumedFrom, hash }), {
    objectMode: false,
  });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(partial, { flags: resumedFrom > 0 ? 'a' : 'w' }));
  } catch (err) {
    if (isBaleError(err, 'E_DIGEST_MISMATCH') || isBaleError(err, 'E_SIZE_MISMATCH')) {
      await rm(partial, { force: true }); // the partial content cannot be trusted
    }
    if (isBaleError(err)) throw err;
    throw ioError(err, partial);
  }
  try {
    await rename(partial, destPath);
  } catch (err) {
    throw ioError(err, destPath);
  }
  return { resumedFrom };
}

function ioError(err: unknown, path: string): BaleError {
  const code = (err as NodeJS.ErrnoException).code;
  return new BaleError(
    code === 'ENOSPC' ? 'E_NO_SPACE' : 'E_IO',
    `cannot write ${path}: ${code ?? String(err)}`,
    {
      hint:
        code === 'ENOSPC'
          ? 'Free disk space and run again; the download resumes.'
          : 'Check the path and its permissions.',
      cause: err,
      details: { path },
    },
  );
}
