/**
 * HTTP transport: one undici Agent per registry host (TLS settings, timeouts), and the
 * scheme of each registry, learnt once from a `GET /v2/` probe. TLS is verified unless
 * `tlsVerify` is false; plain HTTP is used only when `tlsVerify` is false or the
 * registry is on loopback, and only when the HTTPS handshake fails because the other
 * side does not speak TLS (a certificate error is never a reason to fall back).
 */
import { setMaxListeners } from 'node:events';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { isLoopbackRegistry, registryEndpoint } from './reference.js';
import { errorCodeOf, isTlsProtocolError } from './http-error.js';

export interface TransportOptions {
  tlsVerify: boolean;
  /** Extra CA certificates (PEM), trusted in addition to the system roots. */
  caPem?: string;
  /** Headers timeout and body idle timeout, ms. */
  timeoutMs: number;
  userAgent: string;
  /**
   * Cancels every request: those in flight end at once (undici's `signal`), and none
   * starts after the abort (each rejects with the signal's reason).
   */
  signal?: AbortSignal;
}

export interface RawRequest {
  method: Dispatcher.HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable | null;
}

export interface ProbeResult {
  /** `https://host[:port]` or `http://host[:port]`. */
  baseUrl: string;
  status: number;
  wwwAuthenticate: string | string[] | undefined;
}

export type Probe = (baseUrl: string, opts: { once: boolean }) => Promise<ProbeResult>;

export class Transport {
  private readonly agents = new Map<string, Agent>();
  private readonly bases = new Map<string, Promise<ProbeResult>>();
  /** destroy() ran: no new connection is opened. */
  private destroyed = false;

  /**
   * The requests' own signal, following `options.signal`: one listener on the caller's
   * signal per transport, however many requests run (undici adds one per request).
   */
  readonly signal: AbortSignal | undefined;

  constructor(private readonly options: TransportOptions) {
    const outer = options.signal;
    if (outer !== undefined) {
      const inner = new AbortController();
      setMaxListeners(0, inner.signal);
      if (outer.aborted) inner.abort(outer.reason);
      else outer.addEventListener('abort', () => inner.abort(outer.reason), { once: true });
      this.signal = inner.signal;
    }
  }

  /** The Agent for a registry host (also used for redirects that start there). */
  agentFor(registry: string): Agent {
    let agent = this.agents.get(registry);
    if (agent === undefined) {
      const connect: Record<string, unknown> = { rejectUnauthorized: this.options.tlsVerify };
      if (this.options.caPem !== undefined) connect.ca = [...rootCertificates, this.options.caPem];
      agent = new Agent({
        connect,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        connectTimeout: Math.min(this.options.timeoutMs, 30_000),
        keepAliveTimeout: 10_000,
      });
      this.agents.set(registry, agent);
    }
    return agent;
  }

  /** One HTTP exchange, no redirects, no retries. Throws undici's transport errors. */
  async send(registry: string, req: RawRequest): Promise<Dispatcher.ResponseData> {
    const { signal } = this;
    signal?.throwIfAborted();
    if (this.destroyed) throw new Error(`the connections to ${registry} were closed after an interrupt`);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...req.headers };
    try {
      return await request(req.url, {
        dispatcher: this.agentFor(registry),
        method: req.method,
        headers,
        body: req.body ?? null,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      // Whatever undici makes of the abort, callers see the abort itself (never retried).
      signal?.throwIfAborted();
      throw err;
    }
  }

  /** Plain HTTP is allowed for this registry (tlsVerify false, or loopback). */
  allowsPlainHttp(registry: string): boolean {
    return !this.options.tlsVerify || isLoopbackRegistry(registry);
  }

  /**
   * The base URL of a registry, probing `/v2/` the first time (https, then http where
   * allowed). `probe` performs the request, with retries unless `once`; a failed probe
   * is not cached.
   */
  resolve(registry: string, probe: Probe): Promise<ProbeResult> {
    let p = this.bases.get(registry);
    if (p === undefined) {
      p = this.probeSchemes(registry, probe);
      this.bases.set(registry, p);
      p.catch(() => this.bases.delete(registry));
    }
    return p;
  }

  private async probeSchemes(registry: string, probe: Probe): Promise<ProbeResult> {
    const host = registryEndpoint(registry);
    const https = `https://${host}`;
    if (!this.allowsPlainHttp(registry)) return probe(https, { once: false });
    try {
      return await probe(https, { once: true });
    } catch (err) {
      // A plain-HTTP server answers a TLS hello with garbage (EPROTO) or a reset.
      const code = errorCodeOf(err);
      const notTls = isTlsProtocolError(err) || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
      if (!notTls) return probe(https, { once: false });
    }
    const plain = await probe(`http://${host}`, { once: false });
    // A TLS server answers plain HTTP with 400 ("client sent an HTTP request to an HTTPS
    // server"); /v2/ never answers 400 otherwise: the https failure was a transient one.
    if (plain.status === 400) return probe(https, { once: false });
    return plain;
  }

  /** Forget a registry's scheme (after its server restarted on another scheme, tests). */
  forget(registry: string): void {
    this.bases.delete(registry);
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close().catch(() => a.destroy())));
  }

  /** Aborts every request in flight and closes all connections now (after an interrupt). */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }
}
