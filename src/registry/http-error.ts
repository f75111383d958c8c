/**
 * Turning registry responses and transport failures into BaleErrors: stable codes,
 * URLs without credentials, the registry's `errors[]` body (truncated).
 */
import type { Dispatcher } from 'undici';
import { BaleError, type ErrorCode, messageOf } from '../errors.js';

const MAX_ERROR_BODY = 64 * 1024;
const MAX_MESSAGE = 300;
const MAX_ERRORS = 5;

/** A URL for messages and details: no user-info, no query (upload state, signed redirect URLs). */
export function redactUrl(url: string | URL): string {
  try {
    const text = url.toString();
    // A request target relative to the registry ("/v2/…") keeps only its path.
    const relative = text.startsWith('/');
    const u = new URL(text, relative ? 'http://registry.invalid' : undefined);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return relative ? u.pathname : u.toString();
  } catch {
    return '<invalid URL>';
  }
}

export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** Reads at most 64 KiB of a body, then discards the rest. Never throws. */
export async function readSmallBody(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      if (n + b.length > MAX_ERROR_BODY) {
        chunks.push(b.subarray(0, MAX_ERROR_BODY - n));
        n = MAX_ERROR_BODY;
        break;
      }
      chunks.push(b);
      n += b.length;
    }
  } catch {
    // the error body is best effort
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks);
}

/** Reads a whole body of at most `max` bytes (E_TOO_LARGE beyond, with `hint`), then releases it. */
export async function readLimitedBody(
  body: AsyncIterable<unknown> & { destroy(): void },
  max: number,
  what: string,
  url: string,
  hint: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      n += b.length;
      if (n > max) {
        throw new BaleError('E_TOO_LARGE', `${what} is larger than ${max} bytes`, {
          hint,
          details: { url: redactUrl(url), maxBytes: max },
        });
      }
      chunks.push(b);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks);
}

/** Drops a response body without reading it (frees the connection). */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function truncate(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

/** `errors[].code/message` from a registry error body, truncated; [] when it is not one. */
export function parseRegistryErrors(body: Buffer): RegistryErrorEntry[] {
  try {
    const json = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof json !== 'object' || json === null) return [];
    const errors = (json as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.slice(0, MAX_ERRORS).map((e: unknown) => {
      const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      return {
        code: truncate(typeof r.code === 'string' ? r.code : 'UNKNOWN'),
        message: truncate(typeof r.message === 'string' ? r.message : ''),
      };
    });
  } catch {
    return [];
  }
}

export interface ResponseErrorContext {
  /** What was asked for: `manifest 4.18.1-x86_64 in quay.io/org/repo`, `blob sha256:… in …`. */
  what: string;
  method: string;
  url: string;
  registry: string;
}

/** The error for a final (non-retried) HTTP status. */
export function responseError(
  status: number,
  body: Buffer,
  ctx: ResponseErrorContext,
  extraHint?: string,
): BaleError {
  const registryErrors = parseRegistryErrors(body);
  const details: Record<string, unknown> = { url: redactUrl(ctx.url), status, method: ctx.method };
  if (registryErrors.length > 0) details.registryErrors = registryErrors;
  const said =
    registryErrors.length > 0
      ? `: ${registryErrors.map((e) => `${e.code} ${e.message}`.trim()).join('; ')}`
      : '';
  let code: ErrorCode;
  let message: string;
  let hint: string;
  switch (status) {
    case 401:
      code = 'E_AUTH';
      message = `${ctx.registry} refused the credentials for ${ctx.what} (HTTP 401)${said}`;
      hint =
        extraHint ??
        'Log in to the registry (its entry in --registry-config / the auth file) with an account that may access this repository.';
      break;
    case 403:
      code = 'E_DENIED';
      message = `${ctx.registry} denied access to ${ctx.what} (HTTP 403)${said}`;
      hint = 'The account has no permission for this repository or action; ask the registry administrator.';
      break;
    case 404:
      code = 'E_NOT_FOUND';
      message = `${ctx.what} not found (HTTP 404)${said}`;
      hint = 'Check the repository name, tag and digest; the registry does not have it.';
      break;
    case 413:
      code = 'E_TOO_LARGE';
      message = `${ctx.registry} rejected ${ctx.what} as too large (HTTP 413)${said}`;
      hint = 'The registry or a proxy in front of it limits request sizes; raise that limit.';
      break;
    default:
      code = 'E_HTTP';
      message = `${ctx.method} ${ctx.what} failed with HTTP ${status}${said}`;
      hint = 'See the registry error above; retrying later may help if the registry is overloaded.';
  }
  return new BaleError(code, message, { hint, details });
}

const TLS_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** The `code` of an error or of any error in its cause chain. */
export function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    // BaleError codes (E_NETWORK…) wrap the interesting one: look through them.
    if (typeof code === 'string' && !/^E_[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTlsCertificateError(err: unknown): boolean {
  const code = errorCodeOf(err);
  return code !== undefined && TLS_CERT_CODES.has(code);
}

/** A TLS handshake that failed because the other side does not speak TLS. */
export function isTlsProtocolError(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (
    code === 'EPROTO' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'
  )
    return true;
  return /wrong version number|packet length too long|unknown protocol/i.test(messageOf(err));
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_ABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The reason to retry a transport failure, or undefined when it is not transient. */
export function transientNetworkReason(err: unknown): string | undefined {
  const code = errorCodeOf(err);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return code;
  return undefined;
}

/** A transport failure as a BaleError (E_TLS for certificates, else E_NETWORK). */
export function networkError(
  err: unknown,
  ctx: { method: string; url: string; registry: string; what: string },
): BaleError {
  const code = errorCodeOf(err);
  const details = {
    url: redactUrl(ctx.url),
    method: ctx.method,
    ...(code !== undefined ? { cause: code } : {}),
  };
  if (isTlsCertificateError(err)) {
    return new BaleError(
      'E_TLS',
      `TLS certificate of ${ctx.registry} not trusted (${code}) while fetching ${ctx.what}`,
      {
        hint: 'Pass the registry CA with --ca-file, or, for a test registry only, disable verification with --*-tls-verify=false.',
        cause: err,
        details,
      },
    );
  }
  return new BaleError(
    'E_NETWORK',
    `cannot reach ${ctx.registry} for ${ctx.what}: ${code ?? messageOf(err)}`,
    {
      hint: 'Check the registry host name, port, proxy settings and network connectivity.',
      cause: err,
      details,
    },
  );
}
