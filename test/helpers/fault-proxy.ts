/**
 * A fault-injecting HTTP proxy for registry tests. Clients talk to `proxy.host` as if it
 * were the registry; every request is forwarded to a plain-HTTP upstream (`host:port`),
 * bodies streamed both ways, and `Location` headers pointing at the upstream are
 * rewritten to point at the proxy.
 *
 * A FaultPlan holds rules; the first rule that matches a request (method + path regex)
 * and fires (skip/times counters, seeded probability) injects its fault:
 *   status    answer e.g. 503, or 429 with Retry-After, without asking the upstream
 *   close     drop the connection without an answer
 *   reset     forward the headers and K body bytes, then drop the connection (response);
 *             or forward K bytes of the request body upstream, then drop (request / uploads)
 *   stall     delay the response headers, or the body after K bytes, by N ms
 *   throttle  limit the response (or request) body to N bytes/s
 * `down` refuses everything (503, or closing connections). Every request is logged with
 * its Range header, status, bytes sent and the fault applied.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, Agent } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { mulberry32 } from './prng.js';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: string }
  | { kind: 'close' }
  | {
      kind: 'reset';
      afterBytes?: number;
      on?: 'response' | 'request';
      /** TCP RST instead of FIN */ hard?: boolean;
    }
  | { kind: 'stall'; ms: number; phase?: 'headers' | 'body'; afterBytes?: number }
  | { kind: 'throttle'; bytesPerSecond: number; on?: 'response' | 'request' };

export interface FaultRule {
  /** HTTP method(s) to match, case-insensitive, alternatives joined by `|` (`PATCH|PUT`); any when absent. */
  method?: string;
  /** Regex (or its source) tested against the request path including the query; any when absent. */
  path?: RegExp | string;
  fault: Fault;
  /** Chance that a matching request gets the fault (default 1), drawn from the plan's seeded PRNG. */
  probability?: number;
  /** Let the first `skip` matching requests through untouched. */
  skip?: number;
  /** Fault at most this many requests (after skip); unlimited when absent. */
  times?: number;
  /** Label recorded in the log instead of the fault kind. */
  name?: string;
}

export interface FaultPlan {
  seed?: number;
  rules?: FaultRule[];
  /** Refuse every request: answer 503, or close the connection. */
  down?: false | '503' | 'close';
}

export interface RequestLog {
  method: string;
  /** Path + query as the client sent it. */
  path: string;
  /** Final status sent (0 when the connection was dropped before headers). */
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Request body bytes received from the client. */
  requestBytes: number;
  /** The client's Range header, if any. */
  range?: string;
  /** Applied fault: rule name or kind ('status:503', 'reset', 'stall', ..., 'down'). */
  fault?: string;
  /** True once the exchange ended (completed or dropped). */
  done: boolean;
}

export interface FaultProxy {
  /** 127.0.0.1:port: use it as the registry host. */
  host: string;
  url: string;
  /** host:port of the upstream. */
  target: string;
  log: RequestLog[];
  /** Replace the plan (counters and PRNG restart). */
  setPlan(plan: FaultPlan): void;
  /** Wait until every logged exchange has ended (bounded). */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Rule helpers for the common cases. */
export const faults = {
  failFirst(n: number, method: string, path: RegExp | string, status = 503): FaultRule {
    return { method, path, times: n, fault: { kind: 'status', status } };
  },
  tooManyRequests(retryAfterSeconds: number, rule: Partial<FaultRule> = {}): FaultRule {
    return { ...rule, fault: { kind: 'status', status: 429, retryAfter: retryAfterSeconds } };
  },
  resetBlobGet(afterBytes: number, rule: Partial<FaultRule> = {}): FaultRule {
    return { method: 'GET', path: /\/blobs\/sha256:/, ...rule, fault: { kind: 'reset', afterBytes } };
  },
  resetUpload(afterBytes: number, rule: Partial<FaultRule> = {}): FaultRule {
    return {
      method: 'PATCH|PUT',
      path: /\/blobs\/uploads\//,
      ...rule,
      fault: { kind: 'reset', afterBytes, on: 'request' },
    };
  },
};

interface CompiledRule {
  rule: FaultRule;
  methods?: string[];
  path?: RegExp;
  matched: number;
  fired: number;
}

function compile(plan: FaultPlan): { rules: CompiledRule[]; random: () => number } {
  return {
    random: mulberry32(plan.seed ?? 1),
    rules: (plan.rules ?? []).map((rule) => ({
      rule,
      methods: rule.method?.toUpperCase().split('|'),
      path:
        rule.path === undefined
          ? undefined
          : typeof rule.path === 'string'
            ? new RegExp(rule.path)
            : rule.path,
      matched: 0,
      fired: 0,
    })),
  };
}

function faultLabel(rule: FaultRule): string {
  if (rule.name !== undefined) return rule.name;
  return rule.fault.kind === 'status' ? `status:${rule.fault.status}` : rule.fault.kind;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

export async function startFaultProxy(target: string, plan: FaultPlan = {}): Promise<FaultProxy> {
  let current = plan;
  let compiled = compile(plan);
  const log: RequestLog[] = [];
  const sockets = new Set<Socket>();
  const stopping = new AbortController();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let proxyHost = '';

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done);
    });

  function pick(req: IncomingMessage): FaultRule | undefined {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    for (const c of compiled.rules) {
      if (c.methods !== undefined && !c.methods.includes(method)) continue;
      if (c.path !== undefined && !c.path.test(path)) continue;
      c.matched++;
      if (c.matched <= (c.rule.skip ?? 0)) continue;
      if (c.rule.times !== undefined && c.fired >= c.rule.times) continue;
      const probability = c.rule.probability ?? 1;
      if (probability < 1 && compiled.random() >= probability) continue;
      c.fired++;
      return c.rule;
    }
    return undefined;
  }

  /** Writes with backpressure; false when the destination went away. */
  async function write(dest: Writable, chunk: Buffer): Promise<boolean> {
    if (dest.destroyed || dest.writableEnded) return false;
    if (dest.write(chunk)) return true;
    // Cancel the listener of the event that did not happen, or they pile up per write.
    const ac = new AbortController();
    const closed = once(dest, 'close', { signal: ac.signal }).then(() => false);
    const drained = once(dest, 'drain', { signal: ac.signal }).then(() => true);
    try {
      return await Promise.race([closed, drained]);
    } catch {
      return false;
    } finally {
      ac.abort();
      closed.catch(() => undefined);
      drained.catch(() => undefined);
    }
  }

  /** Resolves once `chunk` has been handed to the kernel. */
  function writeFlushed(dest: Writable, chunk: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (dest.destroyed) return resolve();
      dest.write(chunk, () => resolve());
    });
  }

  /** Waits (bounded) until whatever was written to dest's socket left the process. */
  async function socketFlushed(dest: Writable): Promise<void> {
    const socket = (dest as { socket?: Socket | null }).socket;
    const started = Date.now();
    while (socket !== null && socket !== undefined && !socket.destroyed && Date.now() - started < 1000) {
      if (socket.writableLength === 0) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setImmediate(r));
  }

  function drop(socket: Socket | null | undefined, hard: boolean): void {
    if (socket === null || socket === undefined || socket.destroyed) return;
    if (hard) socket.resetAndDestroy();
    else socket.destroy();
  }

  async function throttleDelay(rate: number, sent: number, started: number): Promise<void> {
    const due = started + (sent / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  }

  /** Streams `source` into `dest` applying the body faults; returns 'dropped' if it cut the connection. */
  async function pump(
    source: AsyncIterable<Buffer>,
    dest: Writable,
    count: (n: number) => void,
    fault: Fault | undefined,
    dropConnection: (hard: boolean) => void,
  ): Promise<'ok' | 'dropped' | 'gone'> {
    const resetAt = fault?.kind === 'reset' ? (fault.afterBytes ?? 0) : undefined;
    const stallAt = fault?.kind === 'stall' && fault.phase === 'body' ? (fault.afterBytes ?? 0) : undefined;
    let stalled = false;
    const rate = fault?.kind === 'throttle' ? Math.max(1, fault.bytesPerSecond) : undefined;
    const slice = rate === undefined ? Infinity : Math.max(1, Math.floor(rate / 20));
    const started = Date.now();
    let sent = 0;
    if (resetAt === 0) {
      await socketFlushed(dest);
      dropConnection(fault?.kind === 'reset' && fault.hard === true);
      return 'dropped';
    }
    for await (const data of source) {
      let chunk = data;
      while (chunk.length > 0) {
        let take = Math.min(chunk.length, slice);
        if (resetAt !== undefined) take = Math.min(take, resetAt - sent);
        if (stallAt !== undefined && !stalled && sent < stallAt) take = Math.min(take, stallAt - sent);
        if (stallAt !== undefined && !stalled && sent >= stallAt) {
          stalled = true;
          await sleep((fault as { ms: number }).ms);
          continue;
        }
        const piece = chunk.subarray(0, take);
        chunk = chunk.subarray(take);
        if (rate !== undefined) await throttleDelay(rate, sent, started);
        if (resetAt !== undefined && sent + piece.length >= resetAt) {
          await writeFlushed(dest, piece);
          sent += piece.length;
          count(piece.length);
          dropConnection(fault?.kind === 'reset' && fault.hard === true);
          return 'dropped';
        }
        if (!(await write(dest, piece))) return 'gone';
        sent += piece.length;
        count(piece.length);
      }
    }
    if (stallAt !== undefined && !stalled) await sleep((fault as { ms: number }).ms);
    return 'ok';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry: RequestLog = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
      bytes: 0,
      requestBytes: 0,
      done: false,
    };
    if (typeof req.headers.range === 'string') entry.range = req.headers.range;
    log.push(entry);
    res.once('close', () => {
      entry.done = true;
    });

    if (current.down === 'close') {
      entry.fault = 'down';
      drop(req.socket, false);
      return;
    }
    if (current.down === '503') {
      entry.fault = 'down';
      req.resume();
      const body = JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'fault proxy: down' }] });
      entry.status = 503;
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      entry.bytes = Buffer.byteLength(body);
      return;
    }

    const rule = pick(req);
    const fault = rule?.fault;
    if (rule !== undefined) entry.fault = faultLabel(rule);

    if (fault?.kind === 'close') {
      drop(req.socket, false);
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const body =
        fault.body ??
        JSON.stringify({
          errors: [
            {
              code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE',
              message: `fault proxy: ${fault.status}`,
            },
          ],
        });
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      entry.status = fault.status;
      res.writeHead(fault.status, headers);
      res.end(body);
      entry.bytes = Buffer.byteLength(body);
      return;
    }
    if (fault?.kind === 'stall' && (fault.phase ?? 'headers') === 'headers') {
      await sleep(fault.ms);
      if (res.destroyed) return;
    }

    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = value;
    }
    headers.host = target;

    const upstream = httpRequest({
      host: target.slice(0, target.lastIndexOf(':')),
      port: Number(target.slice(target.lastIndexOf(':') + 1)),
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });

    const requestFault = fault !== undefined && 'on' in fault && fault.on === 'request' ? fault : undefined;
    const responseFault = requestFault === undefined ? fault : undefined;

    const responded = new Promise<IncomingMessage | undefined>((resolve) => {
      upstream.once('response', resolve);
      upstream.once('error', () => resolve(undefined));
      upstream.once('close', () => resolve(undefined));
    });
    // request body: client → upstream
    const sending = pump(
      req,
      upstream,
      (n) => {
        entry.requestBytes += n;
      },
      requestFault,
      (hard) => {
        drop(req.socket, hard);
        upstream.destroy();
      },
    ).then((outcome) => {
      if (outcome === 'ok') upstream.end();
      return outcome;
    });
    sending.catch(() => upstream.destroy());

    const upRes = await responded;
    if (upRes === undefined) {
      if ((await sending.catch(() => 'gone')) === 'dropped' || res.destroyed) return;
      entry.status = 502;
      const body = JSON.stringify({
        errors: [{ code: 'UNAVAILABLE', message: 'fault proxy: upstream failed' }],
      });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const outHeaders: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upRes.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      outHeaders[name] = value;
    }
    const location = upRes.headers.location;
    if (typeof location === 'string' && location.startsWith(`http://${target}`)) {
      outHeaders.location = `http://${proxyHost}${location.slice(`http://${target}`.length)}`;
    }
    entry.status = upRes.statusCode ?? 0;
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, outHeaders);
    res.flushHeaders();
    if (res.destroyed) {
      upRes.destroy();
      return;
    }
    const outcome = await pump(
      upRes,
      res,
      (n) => {
        entry.bytes += n;
      },
      responseFault,
      (hard) => {
        upRes.destroy();
        drop(res.socket, hard);
      },
    );
    if (outcome === 'ok') res.end();
    else upRes.destroy();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      drop(req.socket, false);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  proxyHost = `127.0.0.1:${port}`;

  return {
    host: proxyHost,
    url: `http://${proxyHost}`,
    target,
    log,
    setPlan(next) {
      current = next;
      compiled = compile(next);
    },
    async settled(timeoutMs = 5000) {
      const started = Date.now();
      while (log.some((e) => !e.done) && Date.now() - started < timeoutMs) {
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      stopping.abort();
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
