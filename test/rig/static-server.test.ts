import { connect } from 'node:net';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStaticServer, type StaticServer } from '../helpers/static-server.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Sends a raw request line so the path reaches the server without client-side normalisation. */
function rawGet(host: string, path: string): Promise<number> {
  const [h, p] = host.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(p), h ?? '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

describe('static server', () => {
  let server: StaticServer;
  let outside: string;
  const digestDir = 'sha256=' + 'a'.repeat(64);

  beforeAll(async () => {
    const parent = await makeTempDir('bale-static-');
    const root = join(parent, 'store');
    await mkdir(join(root, digestDir), { recursive: true });
    await writeFile(join(root, digestDir, 'signature-1'), Buffer.from([1, 2, 3, 4]));
    outside = join(parent, 'secret.txt');
    await writeFile(outside, 'secret');
    await symlink(outside, join(root, digestDir, 'signature-2'));
    server = await startStaticServer(root);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves files byte for byte', async () => {
    const res = await fetch(`${server.url}/${digestDir}/signature-1`);
    expect(res.status).toBe(200);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3, 4]);
    expect(res.headers.get('content-length')).toBe('4');
  });

  it('404s missing files and directories, and logs every request', async () => {
    const before = server.log.length;
    expect((await fetch(`${server.url}/${digestDir}/signature-3`)).status).toBe(404);
    expect((await fetch(`${server.url}/${digestDir}`)).status).toBe(404);
    expect(server.log.slice(before)).toEqual([
      { method: 'GET', path: `/${digestDir}/signature-3`, status: 404 },
      { method: 'GET', path: `/${digestDir}`, status: 404 },
    ]);
  });

  it('refuses traversal, encoded traversal and symlinks out of the root', async () => {
    expect(await rawGet(server.host, '/../secret.txt')).toBe(404);
    expect(await rawGet(server.host, `/${digestDir}/..%2f..%2fsecret.txt`)).toBe(404);
    expect(await rawGet(server.host, '/%2e%2e/secret.txt')).toBe(404);
    expect(await rawGet(server.host, `/${digestDir}/signature-2`)).toBe(404);
    expect(server.log.every((e) => e.status !== 200 || !e.path.includes('secret'))).toBe(true);
  });

  it('is read-only', async () => {
    const res = await fetch(`${server.url}/${digestDir}/signature-1`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(405);
  });
});
