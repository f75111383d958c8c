/**
 * One authenticated HTTP exchange: the scheme probe (retried), 401 → re-auth → once,
 * redirects that never carry Authorization to another origin, status checks as
 * BaleErrors, per-registry concurrency. Against the real distribution registry for
 * auth, and small loopback servers for what a registry cannot be made to do on demand
 * (redirect loops, storage on another origin, 503 with Retry-After).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/registry/bearer-auth.js';
import { staticCredentials, type Credentials } from '../../src/registry/credentials.js';
import { header, nextLink, RegistryHttp } from '../../src/registry/registry-http.js';
import { transientReason } from '../../src/registry/retry.js';
import { Transport } from '../../src/registry/transport.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

interface Loopback {
  host: string;
  seen: Seen[];
  stop(): Promise<void>;
}

const servers: Loopback[] = [];

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void,
): Promise<Loopback> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString(),
      });
      handler(req, res, seen);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const lb: Loopback = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
  servers.push(lb);
  return lb;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const BASIC = { 'www-authenticate': 'Basic realm="test"' };

function httpFor(
  creds: Record<string, Credentials> = {},
  opts: { attempts?: number; concurrency?: number } = {},
): RegistryHttp {
  const transport = new Transport({ tlsVerify: true, timeoutMs: 5000, userAgent: 'bale-test' });
  const auth = new Authenticator({
    credentials: staticCredentials(creds),
    fetchToken: () => Promise.reject(new Error('no token service in this test')),
    allowPlainHttpRealm: () => true,
  });
  return new RegistryHttp(
    transport,
    auth,
    { attempts: opts.attempts ?? 3, baseDelayMs: 1, maxDelayMs: 5 },
    opts.concurrency ?? 4,
  );
}

const spec = (registry: string, target: string) => ({
  registry,
  method: 'GET' as const,
  target,
  scopes: ['repository:a:pull'],
  what: `blob sha256:1 in ${registry}/a`,
});

describe('helpers', () => {
  it('follows Link rel="next" relative to the request', () => {
    expect(nextLink('</v2/r/tags/list?n=2&last=b>; rel="next"', 'https://h:5000/v2/r/tags/list?n=2')).toBe(
      'https://h:5000/v2/r/tags/list?n=2&last=b',
    );
    expect(nextLink('<https://o/x>; rel="prev", <https://o/y>; rel=next', 'https://h/')).toBe('https://o/y');
    expect(nextLink('<https://o/x>; rel="prev"', 'https://h/')).toBeUndefined();
    expect(nextLink('garbage', 'https://h/')).toBeUndefined();
    expect(nextLink(undefined, 'https://h/')).toBeUndefined();
  });

  it('header() takes the first of repeated headers', () => {
    const res = { headers: { location: ['/a', '/b'], 'content-type': 'x' } } as unknown as Parameters<
      typeof header
    >[0];
    expect(header(res, 'location')).toBe('/a');
    expect(header(res, 'content-type')).toBe('x');
    expect(header(res, 'absent')).toBeUndefined();
  });
});

describe('against distribution with htpasswd', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('sends Basic credentials after the probe’s challenge: one probe, one request', async () => {
    const http = httpFor({ [reg.host]: { username: reg.username ?? '', password: reg.password ?? '' } });
    expect(await http.base(reg.host)).toBe(`http://${reg.host}`); // HTTPS tried first, then plain HTTP
    const probes = http.stats.requests;
    const ex = await http.exchange(spec(reg.host, '/v2/'));
    expect(ex.res.statusCode).toBe(200);
    await http.expect(ex, [200], spec(reg.host, '/v2/'));
    expect(http.stats.requests - probes).toBe(1);
    await http.transport.close();
  });

  it('without credentials: 401 after one re-auth; E_AUTH names the registry and says where credentials were looked for', async () => {
    const http = httpFor();
    const s = spec(reg.host, '/v2/a/blobs/sha256:' + '0'.repeat(64));
    await http.base(reg.host);
    const probes = http.stats.requests;
    const ex = await http.exchange(s);
    expect(ex.res.statusCode).toBe(401);
    expect(http.stats.requests - probes).toBe(2); // the request, and once more after re-auth
    const err = await http.expect(ex, [200], s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_AUTH', details: { status: 401, method: 'GET' } });
    expect((err as Error).message).toContain(
      `${reg.host} refused the credentials for blob sha256:1 in ${reg.host}/a`,
    );
    expect((err as { hint: string }).hint).toBe(
      `No credentials for ${reg.host} in credentials given by the caller; pass --registry-config with an auth file that has them.`,
    );
    await http.transport.close();
  });

  it('with a wrong password: the hint says to check them, and the password is never in the error', async () => {
    const http = httpFor({ [reg.host]: { username: reg.username ?? '', password: 'not-the-password-xyz' } });
    const s = spec(reg.host, '/v2/');
    const err = await http.expect(await http.exchange(s), [200], s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_AUTH' });
    expect((err as { hint: string }).hint).toMatch(/^Check the credentials for /);
    expect(JSON.stringify({ ...(err as object), m: (err as Error).message })).not.toContain(
      'not-the-password-xyz',
    );
    await http.transport.close();
  });

  it('E_NOT_FOUND for an unknown manifest, with the URL', async () => {
    const http = httpFor({ [reg.host]: { username: reg.username ?? '', password: reg.password ?? '' } });
    const s = { ...spec(reg.host, '/v2/a/manifests/nope'), what: 'manifest (tag nope) in reg/a' };
    const err = await http.expect(await http.exchange(s), [200], s).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_NOT_FOUND',
      details: { url: `http://${reg.host}/v2/a/manifests/nope`, status: 404 },
    });
    expect(transientReason(err)).toBeUndefined();
    await http.transport.close();
  });
});

describe('redirects', () => {
  it('carries Authorization on the registry’s origin only, never to the storage host it redirects to', async () => {
    const storage = await serve((_req, res) => res.end('blob bytes'));
    const registry = await serve((req, res) => {
      if (req.url === '/v2/') return void res.writeHead(401, BASIC).end();
      if (req.url === '/v2/a/blobs/same')
        return void res.writeHead(307, { location: '/v2/a/blobs/here' }).end();
      if (req.url === '/v2/a/blobs/here') return void res.end('here');
      res.writeHead(307, { location: `http://${storage.host}/bucket/blob?X-Amz-Signature=s` }).end();
    });
    const http = httpFor({ [registry.host]: { username: 'u', password: 'p' } });
    const ex = await http.exchange({ ...spec(registry.host, '/v2/a/blobs/other'), followRedirects: true });
    expect(ex.res.statusCode).toBe(200);
    expect(await ex.res.body.text()).toBe('blob bytes');
    expect(ex.url).toBe(`http://${storage.host}/bucket/blob?X-Amz-Signature=s`);
    expect(registry.seen.at(-1)?.authorization).toMatch(/^Basic /);
    expect(storage.seen).toHaveLength(1);
    expect(storage.seen[0]?.authorization).toBeUndefined();
    // same origin: the credentials follow
    const same = await http.exchange({ ...spec(registry.host, '/v2/a/blobs/same'), followRedirects: true });
    expect(await same.res.body.text()).toBe('here');
    expect(registry.seen.at(-1)).toMatchObject({
      url: '/v2/a/blobs/here',
      authorization: expect.stringMatching(/^Basic /),
    });
    // not asked to follow: the redirect itself comes back
    const raw = await http.exchange(spec(registry.host, '/v2/a/blobs/other'));
    expect(raw.res.statusCode).toBe(307);
    await raw.res.body.dump();
    expect(storage.seen).toHaveLength(1);
    await http.transport.close();
  });

  it('gives up on a redirect loop after 5 hops with E_HTTP naming what was fetched', async () => {
    const loop = await serve((req, res) => {
      if (req.url === '/v2/') return void res.end();
      res.writeHead(302, { location: req.url === '/v2/x' ? '/v2/y' : '/v2/x' }).end();
    });
    const http = httpFor();
    const err = await http
      .exchange({ ...spec(loop.host, '/v2/x'), followRedirects: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_HTTP',
      message: `too many redirects fetching blob sha256:1 in ${loop.host}/a`,
      details: { status: 302 },
    });
    expect((err as { hint: string }).hint).toMatch(/redirects in a loop/);
    expect(loop.seen.filter((s) => s.url !== '/v2/')).toHaveLength(6);
    await http.transport.close();
  });
});

describe('re-authentication', () => {
  it('re-sends once after a 401, opening a fresh body stream for the second attempt', async () => {
    let puts = 0;
    const registry = await serve((req, res) => {
      if (req.url === '/v2/') return void res.end();
      if (++puts === 1) return void res.writeHead(401, BASIC).end();
      res.writeHead(201).end();
    });
    const http = httpFor({ [registry.host]: { username: 'u', password: 'p' } });
    let opened = 0;
    const ex = await http.exchange({
      ...spec(registry.host, '/v2/a/manifests/t'),
      method: 'PUT',
      body: () => {
        opened++;
        return Readable.from([Buffer.from(`body ${opened}`)]);
      },
    });
    expect(ex.res.statusCode).toBe(201);
    expect(opened).toBe(2);
    const putsSeen = registry.seen.filter((s) => s.method === 'PUT');
    expect(putsSeen.map((s) => [s.authorization === undefined, s.body])).toEqual([
      [true, 'body 1'],
      [false, 'body 2'],
    ]);
    await ex.res.body.dump();
    await http.transport.close();
  });
});

describe('status checks and retries', () => {
  it('expect() marks 503 transient with the server’s Retry-After; passes an accepted status', async () => {
    const registry = await serve((req, res) => {
      if (req.url === '/v2/') return void res.end();
      if (req.url === '/v2/ok') return void res.writeHead(202).end();
      res
        .writeHead(503, { 'retry-after': '2', 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'read-only mode' }] }));
    });
    const http = httpFor();
    const s = spec(registry.host, '/v2/busy');
    const err = await http.expect(await http.exchange(s), [200], s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HTTP', details: { status: 503 } });
    expect((err as Error).message).toMatch(/HTTP 503: UNAVAILABLE read-only mode$/);
    expect(transientReason(err)).toEqual({ reason: 'HTTP 503', retryAfterMs: 2000 });
    await expect(
      http.expect(await http.exchange(spec(registry.host, '/v2/ok')), [200, 202], s),
    ).resolves.toBeUndefined();
    await http.transport.close();
  });

  it('retries a probe that answers 503, counting the retries', async () => {
    let probes = 0;
    const registry = await serve((req, res) => {
      if (req.url === '/v2/' && ++probes <= 2) return void res.writeHead(503).end();
      res.end();
    });
    const http = httpFor({}, { attempts: 3 });
    expect(await http.base(registry.host)).toBe(`http://${registry.host}`);
    expect(probes).toBe(3);
    expect(http.stats.retries).toBe(2);
    await http.transport.close();
  });

  it('a probe that keeps failing ends in E_RETRIES_EXHAUSTED naming the probe', async () => {
    const registry = await serve((_req, res) => void res.writeHead(502).end());
    const http = httpFor({}, { attempts: 2 });
    await expect(http.base(registry.host)).rejects.toMatchObject({
      code: 'E_RETRIES_EXHAUSTED',
      details: { attempts: 2, status: 502 },
    });
    await http.transport.close();
  });

  it('E_NETWORK naming the registry when nothing listens', async () => {
    const gone = await serve((_req, res) => void res.end());
    const host = gone.host;
    await gone.stop();
    servers.splice(servers.indexOf(gone), 1);
    const http = httpFor({}, { attempts: 1 });
    const err = await http.base(host).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_RETRIES_EXHAUSTED', details: { reason: 'ECONNREFUSED' } });
    expect((err as { cause: { code: string; message: string } }).cause).toMatchObject({ code: 'E_NETWORK' });
    expect((err as { cause: Error }).cause.message).toContain(`cannot reach ${host}`);
    await http.transport.close();
  });
});

describe('per-registry concurrency', () => {
  it('limited() keeps at most `concurrency` calls running per registry, independently per registry', async () => {
    const http = httpFor({}, { concurrency: 2 });
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const job = (registry: string) =>
      http.limited(registry, async () => {
        running.set(registry, (running.get(registry) ?? 0) + 1);
        peak.set(registry, Math.max(peak.get(registry) ?? 0, running.get(registry) ?? 0));
        await new Promise((r) => setTimeout(r, 10));
        running.set(registry, (running.get(registry) ?? 0) - 1);
        return registry;
      });
    const results = await Promise.all([...Array(6)].flatMap(() => [job('a:1'), job('b:1')]));
    expect(results.filter((r) => r === 'a:1')).toHaveLength(6);
    expect(peak.get('a:1')).toBe(2);
    expect(peak.get('b:1')).toBe(2);
  });

  it('acquire() holds a slot until released', async () => {
    const http = httpFor({}, { concurrency: 1 });
    const release = await http.acquire('r:1');
    let ran = false;
    const waiting = http.limited('r:1', async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(false);
    release();
    await waiting;
    expect(ran).toBe(true);
  });
});
