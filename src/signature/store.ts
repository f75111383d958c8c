/**
 * Reads release signatures from a signature store (formats.md §3):
 * `<store>/sha256=<hex>/signature-N` for N = 1..9, over http(s):// or from a
 * file:// directory with the same layout. Stops at the first missing N (HTTP 404,
 * ENOENT). Each signature may be at most 50 KiB; reading stops as soon as one is
 * larger.
 *
 * An oversized signature: with `onSkip`, it is reported there (an E_TOO_LARGE error
 * naming the URL) and reading goes on with N+1, so the signatures before and after it
 * are kept; without `onSkip`, fetchSignatures throws that E_TOO_LARGE. Any other
 * failure (HTTP status other than 200/404, network, TLS, I/O) throws, naming the URL.
 */
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { digestHex } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';

export const MAX_SIGNATURES = 9;
export const MAX_SIGNATURE_BYTES = 50 * 1024;

export interface FetchedSignature {
  index: number;
  bytes: Buffer;
  url: string;
}

export interface FetchSignaturesOptions {
  /** Verify the server's TLS certificate (default true). */
  tlsVerify?: boolean;
  /** Extra CA certificates (PEM) to trust. */
  caFile?: string;
  /** Use this dispatcher (proxy, shared pool) instead of a private one; tlsVerify/caFile are then its business. */
  dispatcher?: Dispatcher;
  /** Per request, for the headers and between body chunks (default 30 s). */
  timeoutMs?: number;
  /** Called for a signature that is skipped because it is too large (see the module comment). */
  onSkip?: (skipped: { index: number; url: string; error: BaleError }) => void;
  /** Stops the fetch: the request in flight ends, no further one starts (rejects with the reason). */
  signal?: AbortSignal;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** The store URL without a trailing slash, credentials removed for messages. */
function storeBase(store: string): URL {
  let url: URL;
  try {
    url = new URL(store);
  } catch (err) {
    throw new BaleError('E_CONFIG', `signature store ${JSON.stringify(store)} is not a URL`, {
      hint: 'Give the store as https://…, http://… or file:///path.',
      cause: err,
    });
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new BaleError('E_CONFIG', `signature store ${JSON.stringify(store)} is not http(s):// or file://`, {
      hint: 'Give the store as https://…, http://… or file:///path.',
    });
  }
  return url;
}

export function signatureUrl(store: string, digest: string, index: number): string {
  const base = storeBase(store);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/sha256=${digestHex(digest)}/signature-${index}`;
  return base.toString();
}

/** The URL with any user:password removed. */
function redact(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

function tooLarge(index: number, url: string): BaleError {
  return new BaleError('E_TOO_LARGE', `signature ${url} is larger than ${MAX_SIGNATURE_BYTES} bytes`, {
    hint: 'A release signature is a few hundred bytes; this store serves something else. Check the store URL.',
    details: { url, index, limit: MAX_SIGNATURE_BYTES },
  });
}

async function readFileSignature(url: string, index: number): Promise<Buffer | 'missing' | 'too-large'> {
  const path = fileURLToPath(url);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new BaleError('E_IO', `cannot read signature ${path}: ${messageOf(err)}`, {
      hint: 'Check the signature store directory and its permissions.',
      cause: err,
      details: { url, index },
    });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new BaleError('E_IO', `signature ${path} is not a regular file`, {
        hint: 'Check the signature store directory.',
        details: { url, index },
      });
    }
    const buf = Buffer.alloc(MAX_SIGNATURE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SIGNATURE_BYTES) return 'too-large';
    }
    return buf.subarray(0, length);
  } finally {
    await handle.close();
  }
}

function networkError(url: string, index: number, err: unknown): BaleError {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  if (code !== undefined && TLS_CODES.has(code)) {
    return new BaleError('E_TLS', `TLS error fetching signature ${url}: ${messageOf(err)}`, {
      hint: 'Pass the store\u2019s CA certificate with --ca-file, or --tls-verify=false for a store you trust.',
      cause: err,
      details: { url, index, tlsCode: code },
    });
  }
  return new BaleError('E_NETWORK', `cannot fetch signature ${url}: ${messageOf(err)}`, {
    hint: 'Check the network and the signature store URL.',
    cause: err,
    details: { url, index },
  });
}

async function readHttpSignature(
  dispatcher: Dispatcher,
  url: string,
  index: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | 'missing' | 'too-large'> {
  const shown = redact(url);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      dispatcher,
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    signal?.throwIfAborted();
    throw networkError(shown, index, err);
  }
  const { statusCode, body, headers } = res;
  if (statusCode === 404) {
    await body.dump();
    return 'missing';
  }
  if (statusCode !== 200) {
    await body.dump();
    throw new BaleError('E_HTTP', `signature store answered ${statusCode} for ${shown}`, {
      hint:
        statusCode >= 500
          ? 'The signature store has a problem; try again later.'
          : 'Check the signature store URL.',
      details: { url: shown, index, status: statusCode },
    });
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_SIGNATURE_BYTES) {
    body.on('error', () => {}); // destroying an unread body emits an abort error
    body.destroy();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      length += b.length;
      if (length > MAX_SIGNATURE_BYTES) {
        body.on('error', () => {});
        body.destroy();
        return 'too-large';
      }
      chunks.push(b);
    }
  } catch (err) {
    throw networkError(shown, index, err);
  }
  return Buffer.concat(chunks, length);
}

async function makeDispatcher(opts: FetchSignaturesOptions): Promise<Dispatcher> {
  let ca: string | undefined;
  if (opts.caFile !== undefined) {
    try {
      ca = await readFile(opts.caFile, 'utf8');
    } catch (err) {
      throw new BaleError('E_CONFIG', `cannot read CA file ${opts.caFile}: ${messageOf(err)}`, {
        hint: 'Pass a readable PEM file with --ca-file.',
        cause: err,
      });
    }
  }
  const agent = new Agent({
    connect: { rejectUnauthorized: opts.tlsVerify ?? true, ...(ca === undefined ? {} : { ca }) },
  });
  return agent.compose(interceptors.redirect({ maxRedirections: 5 }));
}

export async function fetchSignatures(
  store: string,
  digest: string,
  opts: FetchSignaturesOptions = {},
): Promise<FetchedSignature[]> {
  const base = storeBase(store);
  digestHex(digest);
  const isFile = base.protocol === 'file:';
  const own = isFile || opts.dispatcher !== undefined ? undefined : await makeDispatcher(opts);
  const dispatcher = opts.dispatcher ?? own;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const out: FetchedSignature[] = [];
  try {
    for (let index = 1; index <= MAX_SIGNATURES; index++) {
      opts.signal?.throwIfAborted();
      const url = signatureUrl(store, digest, index);
      const got =
        dispatcher === undefined
          ? await readFileSignature(url, index)
          : await readHttpSignature(dispatcher, url, index, timeoutMs, opts.signal).catch((err: unknown) => {
              opts.signal?.throwIfAborted(); // a body cut by the abort is the abort
              throw err;
            });
      if (got === 'missing') break;
      if (got === 'too-large') {
        const error = tooLarge(index, redact(url));
        if (opts.onSkip === undefined) throw error;
        opts.onSkip({ index, url: redact(url), error });
        continue;
      }
      out.push({ index, bytes: got, url: redact(url) });
    }
  } finally {
    await own?.close();
  }
  return out;
}
