/**
 * One authenticated HTTP exchange with a registry, and the pieces every operation
 * shares: the scheme probe, the 401 → re-auth → retry-once rule, redirects that never
 * carry the registry's Authorization to another origin, status checks that turn into
 * BaleErrors (transient ones marked for retry), retries, per-registry concurrency and
 * the request counters.
 */
import type { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Dispatcher } from 'undici';
import { BaleError } from '../errors.js';
import type { Authenticator } from './bearer-auth.js';
import { discardBody, networkError, readSmallBody, redactUrl, responseError } from './http-error.js';
import { RETRYABLE_STATUSES, markTransient, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
import type { ProbeResult, Transport } from './transport.js';

export interface RegistryStats {
  requests: number;
  retries: number;
  bytesDownloaded: number;
  bytesUploaded: number;
  blobUploads: number;
  blobMounts: number;
}

export interface ExchangeSpec {
  registry: string;
  method: Dispatcher.HttpMethod;
  /** A path from the registry root (`/v2/...`) or an absolute URL (an upload Location). */
  target: string;
  headers?: Record<string, string>;
  /** A buffer, or a factory called for each attempt (a fresh stream every time). */
  body?: Buffer | (() => Readable);
  scopes: string[];
  /** For messages: `manifest latest in host/repo`. */
  what: string;
  followRedirects?: boolean;
}

export interface Exchange {
  res: Dispatcher.ResponseData;
  /** The URL that answered (after redirects). */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The `rel="next"` target of a Link header, resolved against the request URL. */
export function nextLink(link: string | undefined, base: string): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m === null) continue;
    if (/;\s*rel="?next"?/i.test(m[2] ?? '')) return new URL(m[1] ?? '', base).toString();
  }
  return undefined;
}

export class RegistryHttp {
  readonly stats: RegistryStats = {
    requests: 0,
    retries: 0,
    bytesDownloaded: 0,
    bytesUploaded: 0,
    blobUploads: 0,
    blobMounts: 0,
  };
  readonly policy: RetryPolicy;
  private readonly limits = new Map<string, LimitFunction>();

  constructor(
    readonly transport: Transport,
    readonly auth: Authenticator,
    policy: RetryPolicy,
    private readonly concurrency: number,
  ) {
    this.policy = { ...policy, countRetry: () => void this.stats.retries++ };
  }

  /** `https://host:port` or `http://host:port` for a registry (probing once). */
  async base(registry: string): Promise<string> {
    const probed = await this.transport.resolve(registry, (baseUrl, opts) =>
      this.probe(registry, baseUrl, opts.once),
    );
    return probed.baseUrl;
  }

  private probe(registry: string, baseUrl: string, once: boolean): Promise<ProbeResult> {
    const url = `${baseUrl}/v2/`;
    const policy = once ? { ...this.policy, attempts: 1 } : this.policy;
    return withRetry(policy, url, `probe ${registry}`, async () => {
      this.stats.requests++;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.transport.send(registry, { method: 'GET', url });
      } catch (err) {
        throw networkError(err, { method: 'GET', url, registry, what: `${url}` });
      }
      discardBody(res.body);
      if (RETRYABLE_STATUSES.has(res.statusCode)) {
        const err = new BaleError('E_HTTP', `probe of ${redactUrl(url)} answered HTTP ${res.statusCode}`, {
          details: { url: redactUrl(url), status: res.statusCode },
        });
        throw markTransient(err, `HTTP ${res.statusCode}`, parseRetryAfter(res.headers['retry-after']));
      }
      const wwwAuthenticate = res.headers['www-authenticate'];
      if (res.statusCode === 401) this.auth.noteChallenge(registry, wwwAuthenticate);
      return { baseUrl, status: res.statusCode, wwwAuthenticate };
    });
  }

  /** Resolves a path or Location against the registry base URL. */
  async resolveUrl(registry: string, target: string, relativeTo?: string): Promise<string> {
    if (/^https?:\/\//i.test(target)) return target;
    return new URL(target, relativeTo ?? (await this.base(registry))).toString();
  }

  /**
   * One request: Authorization for the registry's origin only, one re-auth on 401,
   * redirects followed when asked. Returns whatever status came back (body unread).
   */
  async exchange(spec: ExchangeSpec): Promise<Exchange> {
    const base = await this.base(spec.registry);
    const origin = new URL(base).origin;
    let url = await this.resolveUrl(spec.registry, spec.target);
    let reauthed = false;
    let hops = 0;
    for (;;) {
      const sameOrigin = new URL(url).origin === origin;
      const headers: Record<string, string> = { ...spec.headers };
      if (sameOrigin) {
        const authorization = await this.auth.authorization(spec.registry, spec.scopes);
        if (authorization !== undefined) headers.authorization = authorization;
      }
      const body = spec.body === undefined || Buffer.isBuffer(spec.body) ? spec.body : spec.body();
      this.stats.requests++;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.transport.send(spec.registry, {
          method: spec.method,
          url,
          headers,
          body: body ?? null,
        });
      } catch (err) {
        if (body !== undefined && !Buffer.isBuffer(body)) body.destroy();
        if (err instanceof BaleError) throw err; // e.g. the local source failed its own check
        throw networkError(err, { method: spec.method, url, registry: spec.registry, what: spec.what });
      }
      const dropBody = (): void => {
        discardBody(res.body);
        if (body !== undefined && !Buffer.isBuffer(body)) body.destroy(); // a fresh one is opened
      };
      if (res.statusCode === 401 && sameOrigin && !reauthed) {
        reauthed = true;
        dropBody();
        await this.auth.refresh(spec.registry, spec.scopes, res.headers['www-authenticate']);
        continue;
      }
      const location = header(res, 'location');
      if (spec.followRedirects === true && REDIRECTS.has(res.statusCode) && location !== undefined) {
        dropBody();
        if (++hops > MAX_REDIRECTS) {
          throw new BaleError('E_HTTP', `too many redirects fetching ${spec.what}`, {
            hint: 'The registry or its storage back end redirects in a loop; ask its administrator.',
            details: { url: redactUrl(url), status: res.statusCode },
          });
        }
        url = new URL(location, url).toString();
        continue;
      }
      return { res, url };
    }
  }

  /**
   * Throws unless the status is one of `ok` (reading and discarding the body): E_AUTH,
   * E_DENIED, E_NOT_FOUND, E_HTTP…; 408/429/5xx are marked transient with Retry-After.
   */
  async expect(
    ex: Exchange,
    ok: readonly number[],
    spec: Pick<ExchangeSpec, 'registry' | 'method' | 'what'>,
  ): Promise<void> {
    const status = ex.res.statusCode;
    if (ok.includes(status)) return;
    const body = await readSmallBody(ex.res.body);
    let hint: string | undefined;
    if (status === 401) {
      hint =
        this.auth.credentialsFor(spec.registry) === undefined
          ? `No credentials for ${spec.registry} in ${this.auth.describeCredentials()}; pass --registry-config with an auth file that has them.`
          : `Check the credentials for ${spec.registry} in ${this.auth.describeCredentials()} and their access to this repository.`;
    }
    const err = responseError(
      status,
      body,
      { what: spec.what, method: spec.method, url: ex.url, registry: spec.registry },
      hint,
    );
    if (RETRYABLE_STATUSES.has(status)) {
      throw markTransient(err, `HTTP ${status}`, parseRetryAfter(ex.res.headers['retry-after']));
    }
    throw err;
  }

  retry<T>(url: string, what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(this.policy, url, what, fn);
  }

  private limiter(registry: string): LimitFunction {
    let l = this.limits.get(registry);
    if (l === undefined) {
      l = pLimit(this.concurrency);
      this.limits.set(registry, l);
    }
    return l;
  }

  /** Runs `fn` in one of the registry's concurrency slots. Never nest. */
  limited<T>(registry: string, fn: () => Promise<T>): Promise<T> {
    return this.limiter(registry)(fn);
  }

  /** Takes a slot and returns its release function (for streams that outlive a call). */
  acquire(registry: string): Promise<() => void> {
    const limit = this.limiter(registry);
    return new Promise((resolveAcquired) => {
      void limit(() => new Promise<void>((release) => resolveAcquired(release)));
    });
  }
}
