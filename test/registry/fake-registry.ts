/**
 * A small in-memory registry on node:http (127.0.0.1, port 0) for protocol fault tests:
 * every behaviour the real registry will not misbehave on demand (resets, stalls,
 * 206/200 answers to Range, redirects, odd Locations, 416s, auth challenges) is
 * switchable here. Not a mock of bale's code: a server that speaks the wire protocol.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export type Hook = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;

export interface FakeRegistryOptions {
  auth?: 'none' | 'basic' | 'bearer';
  username?: string;
  password?: string;
  /** Bearer tokens' expires_in. */
  expiresIn?: number;
  /** How the upload Location looks. */
  location?: 'relative' | 'absolute' | 'relative-with-query' | 'absolute-with-query';
  /** Answer Range requests with 200 and the whole body. */
  ignoreRange?: boolean;
}

export interface FakeRegistry {
  host: string;
  url: string;
  log: LoggedRequest[];
  blobs: Map<string, Buffer>;
  manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  /** Upload sessions: id → bytes received so far. */
  uploads: Map<string, Buffer>;
  tokenRequests: URL[];
  /** Runs before the registry logic; return true when it answered. */
  hooks: Hook[];
  options: FakeRegistryOptions;
  /** Invalidate all issued bearer tokens. */
  revokeTokens(): void;
  stop(): Promise<void>;
}

export function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => resolve(Buffer.concat(chunks)));
  });
}

function registryError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ code, message, detail: null }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const log: LoggedRequest[] = [];
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  const uploads = new Map<string, Buffer>();
  const tokens = new Set<string>();
  const tokenRequests: URL[] = [];
  const hooks: Hook[] = [];
  const sockets = new Set<Socket>();
  let base = '';

  const authorized = (req: IncomingMessage): boolean => {
    const auth = options.auth ?? 'none';
    if (auth === 'none') return true;
    const h = req.headers.authorization ?? '';
    if (auth === 'basic') {
      const expect = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
      return h === expect;
    }
    return h.startsWith('Bearer ') && tokens.has(h.slice('Bearer '.length));
  };

  const challenge = (res: ServerResponse, scope?: string): void => {
    const auth = options.auth ?? 'none';
    const header =
      auth === 'basic'
        ? 'Basic realm="fake, registry"'
        : `Bearer realm="${base}/token",service="fake.registry"${scope !== undefined ? `,scope="${scope}"` : ''}`;
    const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    res.writeHead(401, { 'www-authenticate': header, 'content-type': 'application/json' });
    res.end(body);
  };

  const uploadLocation = (id: string): string => {
    const path = `/v2/upload-sessions/${id}`;
    switch (options.location ?? 'relative') {
      case 'relative':
        return path;
      case 'absolute':
        return `${base}${path}`;
      case 'relative-with-query':
        return `${path}?_state=${id}-state&x=1`;
      case 'absolute-with-query':
        return `${base}${path}?_state=${id}-state`;
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes: body.length,
      });
      for (const hook of hooks) if (await hook(req, res, body)) return;
      const url = new URL(req.url ?? '/', base);
      const path = url.pathname;

      if (path === '/token') {
        tokenRequests.push(url);
        if (options.auth === 'bearer' && options.username !== undefined) {
          const expect = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
          if (req.headers.authorization !== expect) {
            res.writeHead(401).end();
            return;
          }
        }
        const token = randomBytes(8).toString('hex');
        tokens.add(token);
        const payload: Record<string, unknown> = { token };
        if (options.expiresIn !== undefined) payload.expires_in = options.expiresIn;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
        return;
      }
      if (!path.startsWith('/v2/')) {
        res.writeHead(404).end();
        return;
      }
      if (path === '/v2/') {
        if (!authorized(req)) return challenge(res);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }

      let m: RegExpExecArray | null;
      if ((m = /^\/v2\/upload-sessions\/([^/]+)$/.exec(path)) !== null) {
        if (!authorized(req)) return challenge(res);
        const id = m[1] ?? '';
        const have = uploads.get(id);
        if (have === undefined) return registryError(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'no such upload');
        if (req.method === 'GET') {
          res.writeHead(204, {
            location: uploadLocation(id),
            range: `0-${Math.max(0, have.length - 1)}`,
            'docker-upload-uuid': id,
          });
          res.end();
          return;
        }
        if (req.method === 'DELETE') {
          uploads.delete(id);
          res.writeHead(204).end();
          return;
        }
        if (req.method === 'PATCH') {
          const range = req.headers['content-range'];
          if (range !== undefined) {
            const start = Number(/^(\d+)-/.exec(range)?.[1]);
            if (start !== have.length) {
              res.writeHead(416, {
                location: uploadLocation(id),
                range: `0-${Math.max(0, have.length - 1)}`,
              });
              res.end();
              return;
            }
          }
          const next = Buffer.concat([have, body]);
          uploads.set(id, next);
          res.writeHead(202, {
            location: uploadLocation(id),
            range: `0-${next.length - 1}`,
            'content-length': 0,
          });
          res.end();
          return;
        }
        if (req.method === 'PUT') {
          const digest = url.searchParams.get('digest') ?? '';
          const all = Buffer.concat([have, body]);
          if (digestOf(all) !== digest)
            return registryError(
              res,
              400,
              'DIGEST_INVALID',
              'provided digest did not match uploaded content',
            );
          blobs.set(digest, all);
          uploads.delete(id);
          res.writeHead(201, {
            location: `/v2/x/blobs/${digest}`,
            'docker-content-digest': digest,
            'content-length': 0,
          });
          res.end();
          return;
        }
        res.writeHead(405).end();
        return;
      }

      m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.*)$/.exec(path);
      if (m === null) {
        res.writeHead(404).end();
        return;
      }
      const [, name, kind, rest] = m as unknown as [string, string, string, string];
      if (!authorized(req)) {
        const push = req.method !== 'GET' && req.method !== 'HEAD';
        return challenge(res, `repository:${name}:${push ? 'pull,push' : 'pull'}`);
      }
      if (kind === 'blobs' && rest === 'uploads/') {
        const id = randomBytes(6).toString('hex');
        const mount = url.searchParams.get('mount');
        if (mount !== null && blobs.has(mount)) {
          res.writeHead(201, {
            location: `/v2/${name}/blobs/${mount}`,
            'docker-content-digest': mount,
            'content-length': 0,
          });
          res.end();
          return;
        }
        uploads.set(id, Buffer.alloc(0));
        res.writeHead(202, { location: uploadLocation(id), range: '0-0', 'content-length': 0 }).end();
        return;
      }
      if (kind === 'blobs') {
        const b = blobs.get(rest);
        if (b === undefined) return registryError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
        const range = req.headers.range;
        const rm = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
        if (rm !== null && options.ignoreRange !== true) {
          const start = Number(rm[1]);
          res.writeHead(206, {
            'content-length': b.length - start,
            'content-range': `bytes ${start}-${b.length - 1}/${b.length}`,
            'docker-content-digest': rest,
          });
          res.end(req.method === 'HEAD' ? undefined : b.subarray(start));
          return;
        }
        res.writeHead(200, {
          'content-length': b.length,
          'docker-content-digest': rest,
          'content-type': 'application/octet-stream',
        });
        res.end(req.method === 'HEAD' ? undefined : b);
        return;
      }
      if (kind === 'manifests') {
        const key = `${name}:${rest}`;
        if (req.method === 'PUT') {
          const digest = digestOf(body);
          const entry = { bytes: body, mediaType: req.headers['content-type'] ?? '' };
          manifests.set(key, entry);
          manifests.set(`${name}:${digest}`, entry);
          res
            .writeHead(201, { 'docker-content-digest': digest, location: `/v2/${name}/manifests/${digest}` })
            .end();
          return;
        }
        const mf = manifests.get(key);
        if (mf === undefined) return registryError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        res.writeHead(200, {
          'content-type': mf.mediaType,
          'content-length': mf.bytes.length,
          'docker-content-digest': digestOf(mf.bytes),
        });
        res.end(req.method === 'HEAD' ? undefined : mf.bytes);
        return;
      }
      // tags/list with n/last pagination
      const all = [...manifests.keys()]
        .filter((k) => k.startsWith(`${name}:`) && !k.includes('sha256:'))
        .map((k) => k.slice(name.length + 1))
        .sort();
      if (all.length === 0)
        return registryError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      const n = Number(url.searchParams.get('n') ?? 1000);
      const pageSize = Math.min(n, 2);
      const last = url.searchParams.get('last');
      const startAt = last === null ? 0 : all.indexOf(last) + 1;
      const page = all.slice(startAt, startAt + pageSize);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (startAt + pageSize < all.length) {
        headers.link = `</v2/${name}/tags/list?n=${pageSize}&last=${encodeURIComponent(page[page.length - 1] ?? '')}>; rel="next"`;
      }
      res.writeHead(200, headers).end(JSON.stringify({ name, tags: page }));
    })().catch(() => {
      res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  base = `http://${host}`;
  return {
    host,
    url: base,
    log,
    blobs,
    manifests,
    uploads,
    tokenRequests,
    hooks,
    options,
    revokeTokens: () => tokens.clear(),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
