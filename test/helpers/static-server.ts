/**
 * A read-only static file server on 127.0.0.1 for signature stores
 * (`<store>/sha256=<hex>/signature-N`). GET and HEAD only; anything that is not a
 * regular file inside rootDir (after resolving symlinks) is a 404, and paths that try to
 * leave the root are refused with 404 as well. Every request is logged.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface StaticRequestLog {
  method: string;
  path: string;
  status: number;
}

export interface StaticServer {
  /** http://127.0.0.1:port (no trailing slash) */
  url: string;
  host: string;
  rootDir: string;
  log: StaticRequestLog[];
  stop(): Promise<void>;
}

async function resolveInside(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return undefined;
  const candidate = resolve(join(root, ...segments.filter((s) => s !== '')));
  if (candidate !== root && !candidate.startsWith(root + sep)) return undefined;
  try {
    const real = await realpath(candidate);
    if (!real.startsWith(root + sep)) return undefined;
    const info = await stat(real);
    return info.isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

export async function startStaticServer(rootDir: string): Promise<StaticServer> {
  const root = await realpath(rootDir);
  const log: StaticRequestLog[] = [];
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const entry: StaticRequestLog = { method: req.method ?? 'GET', path: rawPath, status: 0 };
    log.push(entry);
    req.resume();
    const answer = (status: number, text: string): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(405, 'method not allowed\n');
      return;
    }
    const file = await resolveInside(root, rawPath);
    if (file === undefined) {
      answer(404, 'not found\n');
      return;
    }
    const info = await stat(file);
    entry.status = 200;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file), res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      } else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  return {
    url: `http://${host}`,
    host,
    rootDir: root,
    log,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
