/**
 * Protocol behaviour under faults, against the in-test registry (fake-registry.ts):
 * retries, Retry-After, resets, stalls, Range resume, redirects, upload Locations,
 * chunked uploads and 416, manifest checks, bearer tokens, pagination, concurrency.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { staticCredentials } from '../../src/registry/credentials.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';
import { digestOf, startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fake-registry.js';

const blob = (n: number, seed = 1): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf(Buffer.from('{}')), size: 2 },
    layers: [],
  }),
);

let reg: FakeRegistry;
let clients: RegistryClient[] = [];
let retries: { attempt: number; reason: string; delayMs: number; url: string }[] = [];

async function setup(opts: FakeRegistryOptions = {}): Promise<void> {
  reg = await startFakeRegistry(opts);
}

function client(opts: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 20 },
    timeoutMs: 2000,
    onRetry: (e) => retries.push(e),
    ...opts,
  });
  clients.push(c);
  return c;
}

async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { code: string; details: Record<string, unknown>; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

const repo = (): { registry: string; repository: string } => ({ registry: reg.host, repository: 'org/repo' });

beforeEach(() => {
  retries = [];
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await reg?.stop();
});

describe('retries', () => {
  it('retries 503 and 500, then succeeds', async () => {
    await setup();
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/') || n >= 2) return false;
      res.writeHead(n++ === 0 ? 503 : 500).end('busy');
      return true;
    });
    const c = client();
    const m = await c.getManifest(repo(), 't');
    expect(m.digest).toBe(digestOf(manifestBytes));
    expect(retries.map((r) => r.reason)).toEqual(['HTTP 503', 'HTTP 500']);
    expect(c.stats.retries).toBe(2);
  });

  it('honours Retry-After in seconds and as an HTTP date (capped)', async () => {
    await setup();
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/') || n >= 2) return false;
      const retryAfter = n++ === 0 ? '1' : new Date(Date.now() + 60_000).toUTCString();
      res.writeHead(429, { 'retry-after': retryAfter }).end();
      return true;
    });
    const c = client({ retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1500 } });
    const started = Date.now();
    await c.getManifest(repo(), 't');
    expect(retries[0]?.delayMs).toBe(1000);
    expect(retries[1]?.delayMs).toBe(1500); // a minute away, capped at maxDelayMs
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
  });

  it('gives up with E_RETRIES_EXHAUSTED after the configured attempts, keeping the last status', async () => {
    await setup();
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/')) return false;
      res.writeHead(502).end();
      return true;
    });
    const err = await errorOf(client({ retry: { attempts: 3, baseDelayMs: 1 } }).getManifest(repo(), 't'));
    expect(err.code).toBe('E_RETRIES_EXHAUSTED');
    expect(err.details.status).toBe(502);
    expect(err.details.attempts).toBe(3);
    expect(reg.log.filter((r) => r.url.includes('/manifests/'))).toHaveLength(3);
  });

  it('does not retry 404, 403 or 400; keeps the registry error (truncated)', async () => {
    await setup();
    const c = client();
    const nf = await errorOf(c.getManifest(repo(), 'nope'));
    expect(nf.code).toBe('E_NOT_FOUND');
    expect(nf.message).toMatch(/tag nope.*org\/repo/);
    expect(nf.details.registryErrors).toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }]);
    reg.hooks.push((req, res) => {
      if (req.url?.includes('/denied/')) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'x'.repeat(5000) }] }));
        return true;
      }
      if (req.url?.includes('/bad/')) {
        res.writeHead(400).end('nonsense');
        return true;
      }
      return false;
    });
    const denied = await errorOf(c.getManifest({ registry: reg.host, repository: 'denied' }, 't'));
    expect(denied.code).toBe('E_DENIED');
    const entries = denied.details.registryErrors as { message: string }[];
    expect(entries[0]?.message.length).toBeLessThan(400);
    const bad = await errorOf(c.getManifest({ registry: reg.host, repository: 'bad' }, 't'));
    expect(bad.code).toBe('E_HTTP');
    expect(bad.details.status).toBe(400);
    expect(retries).toEqual([]);
  });

  it('retries a connection reset and a stalled response (headers timeout)', async () => {
    await setup();
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/')) return false;
      n++;
      if (n === 1) {
        req.socket.destroy();
        return true;
      }
      if (n === 2) {
        setTimeout(() => res.destroy(), 3000); // never answers within the timeout
        return true;
      }
      return false;
    });
    const c = client({ timeoutMs: 300 });
    await c.getManifest(repo(), 't');
    expect(retries.map((r) => r.reason)).toEqual([
      expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/),
      'UND_ERR_HEADERS_TIMEOUT',
    ]);
  });

  it('retries refused connections, then E_RETRIES_EXHAUSTED wrapping E_NETWORK', async () => {
    await setup();
    const host = reg.host;
    await reg.stop();
    const err = await errorOf(
      client({ retry: { attempts: 2, baseDelayMs: 1 } }).blobExists(
        { registry: host, repository: 'a' },
        digestOf(Buffer.from('x')),
      ),
    );
    expect(err.code).toBe('E_RETRIES_EXHAUSTED');
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('E_NETWORK');
    reg = await startFakeRegistry(); // for afterEach
  });
});

describe('blob downloads', () => {
  const data = blob(300_000);
  const digest = digestOf(data);
  const desc = { digest, size: data.length };

  function resetBlobAfter(bytes: number, times = 1): void {
    let n = 0;
    reg.hooks.push((req, res) => {
      if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:') || n >= times) return false;
      n++;
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, bytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return true;
    });
  }

  it('resumes an interrupted body with Range (206)', async () => {
    await setup();
    reg.blobs.set(digest, data);
    resetBlobAfter(100_000);
    const c = client();
    const got = await buffer(c.openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    const gets = reg.log.filter((r) => r.url.includes('/blobs/'));
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(gets[1]?.headers.range ?? '')?.[1])).toBeGreaterThan(0);
    expect(retries).toHaveLength(1);
    expect(c.stats.bytesDownloaded).toBe(data.length);
  });

  it('resumes by skipping bytes when the server answers the Range request with 200', async () => {
    await setup({ ignoreRange: true });
    reg.blobs.set(digest, data);
    resetBlobAfter(120_000, 2);
    const got = await buffer(client().openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    expect(reg.log.filter((r) => r.url.includes('/blobs/'))).toHaveLength(3);
  });

  it('resumes after a stalled body (idle timeout)', async () => {
    await setup();
    reg.blobs.set(digest, data);
    let n = 0;
    reg.hooks.push((req, res) => {
      if (req.method !== 'GET' || !req.url?.includes('/blobs/') || n++ > 0) return false;
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, 50_000));
      setTimeout(() => res.destroy(), 3000);
      return true;
    });
    const got = await buffer(client({ timeoutMs: 300 }).openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    expect(retries[0]?.reason).toMatch(/UND_ERR_BODY_TIMEOUT/);
  });

  it('E_DIGEST_MISMATCH for corrupt content, E_SIZE_MISMATCH for a longer body', async () => {
    await setup();
    const corrupt = Buffer.from(data);
    corrupt[1000] = (corrupt[1000] ?? 0) ^ 0xff;
    reg.blobs.set(digest, corrupt);
    const c = client();
    expect((await errorOf(buffer(c.openBlob(repo(), desc)))).code).toBe('E_DIGEST_MISMATCH');
    reg.blobs.set(digest, Buffer.concat([data, Buffer.from('extra')]));
    expect((await errorOf(buffer(c.openBlob(repo(), desc)))).code).toBe('E_SIZE_MISMATCH');
    const missing = await errorOf(buffer(c.openBlob(repo(), { digest: digestOf(Buffer.from('nope')) })));
    expect(missing.code).toBe('E_NOT_FOUND');
    expect(missing.message).toContain('org/repo');
  });

  it('follows a redirect to another host without the Authorization header', async () => {
    await setup({ auth: 'basic', username: 'u', password: 'secret-pw' });
    const seen: (string | undefined)[] = [];
    const cdn: Server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    try {
      const cdnUrl = `http://localhost:${(cdn.address() as AddressInfo).port}/storage/blob?X-Signature=abc`;
      reg.hooks.push((req, res) => {
        if (req.method !== 'GET' || !req.url?.includes('/blobs/')) return false;
        if (req.headers.authorization === undefined) return false; // let the challenge happen
        res.writeHead(307, { location: cdnUrl }).end();
        return true;
      });
      const c = client({
        credentials: staticCredentials({ [reg.host]: { username: 'u', password: 'secret-pw' } }),
      });
      const got = await buffer(c.openBlob(repo(), desc));
      expect(got.equals(data)).toBe(true);
      expect(seen).toEqual([undefined]);
      const regGets = reg.log.filter((r) => r.url.includes('/blobs/'));
      expect(regGets.at(-1)?.headers.authorization).toMatch(/^Basic /);
    } finally {
      await new Promise<void>((r) => cdn.close(() => r()));
    }
  });

  it('downloadBlob continues a .partial file left by a crashed run', async () => {
    await setup();
    reg.blobs.set(digest, data);
    const dir = await mkdtemp(join(tmpdir(), 'bale-dl-'));
    try {
      const dest = join(dir, 'blob');
      await writeFile(`${dest}.partial`, data.subarray(0, 123_456));
      const seenBytes: number[] = [];
      const r = await client().downloadBlob(repo(), desc, dest, { onBytes: (n) => seenBytes.push(n) });
      expect(r).toEqual({ resumedFrom: 123_456 });
      expect((await readFile(dest)).equals(data)).toBe(true);
      await expect(stat(`${dest}.partial`)).rejects.toThrow();
      expect(reg.log.filter((x) => x.url.includes('/blobs/'))[0]?.headers.range).toBe('bytes=123456-');
      expect(seenBytes.reduce((a, b) => a + b, 0)).toBe(data.length - 123_456);

      // a corrupt partial is detected at the end, removed, and reported
      await rm(dest);
      const bad = Buffer.from(data.subarray(0, 1000));
      bad[0] = (bad[0] ?? 0) ^ 1;
      await writeFile(`${dest}.partial`, bad);
      const err = await errorOf(client().downloadBlob(repo(), desc, dest));
      expect(err.code).toBe('E_DIGEST_MISMATCH');
      await expect(stat(`${dest}.partial`)).rejects.toThrow();
      await expect(stat(dest)).rejects.toThrow();

      // a complete, correct partial needs no request
      await writeFile(`${dest}.partial`, data);
      const before = reg.log.length;
      expect(await client().downloadBlob(repo(), desc, dest)).toEqual({ resumedFrom: data.length });
      expect(reg.log.length).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('downloadBlob survives a reset mid-way', async () => {
    await setup();
    reg.blobs.set(digest, data);
    resetBlobAfter(70_000);
    const dir = await mkdtemp(join(tmpdir(), 'bale-dl-'));
    try {
      const dest = join(dir, 'blob');
      expect(await client().downloadBlob(repo(), desc, dest)).toEqual({ resumedFrom: 0 });
      expect((await readFile(dest)).equals(data)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('uploads', () => {
  const data = blob(100_000, 7);
  const desc = { digest: digestOf(data), size: data.length };

  it.each(['relative', 'absolute', 'relative-with-query', 'absolute-with-query'] as const)(
    'appends the digest to a %s Location without rebuilding it',
    async (location) => {
      await setup({ location });
      const r = await client().pushBlob(repo(), desc, () => Readable.from([data]));
      expect(r).toBe('uploaded');
      expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
      const put = reg.log.find((x) => x.method === 'PUT');
      const u = new URL(put?.url ?? '', reg.url);
      expect(u.searchParams.get('digest')).toBe(desc.digest);
      if (location.endsWith('query')) expect(u.searchParams.get('_state')).toMatch(/-state$/);
      if (location === 'relative-with-query') expect(u.searchParams.get('x')).toBe('1');
    },
  );

  it('reports present blobs and mounts from another repository', async () => {
    await setup();
    reg.blobs.set(desc.digest, data);
    let opens = 0;
    const open = (): Readable => {
      opens++;
      return Readable.from([data]);
    };
    const c = client();
    expect(await c.pushBlob(repo(), desc, open)).toBe('present');
    reg.hooks.push((req, res) => {
      if (req.method === 'HEAD' && req.url?.includes('/blobs/')) {
        res.writeHead(404).end();
        return true;
      }
      return false;
    });
    expect(await c.pushBlob(repo(), desc, open, { mountFrom: ['other/repo'] })).toBe('mounted');
    expect(opens).toBe(0);
    expect(c.stats.blobMounts).toBe(1);
    const post = reg.log.find((x) => x.method === 'POST');
    const u = new URL(post?.url ?? '', reg.url);
    expect(u.searchParams.get('mount')).toBe(desc.digest);
    expect(u.searchParams.get('from')).toBe('other/repo');
  });

  it('calls open() again when an upload is retried', async () => {
    await setup();
    let n = 0;
    reg.hooks.push((req, res) => {
      if (req.method === 'PUT' && n++ === 0) {
        res.writeHead(500).end();
        return true;
      }
      return false;
    });
    let opens = 0;
    const c = client();
    const r = await c.pushBlob(repo(), desc, () => {
      opens++;
      return Readable.from([data]);
    });
    expect(r).toBe('uploaded');
    expect(opens).toBe(2);
    expect(reg.log.filter((x) => x.method === 'POST')).toHaveLength(2); // fresh session per attempt
    expect(c.stats.blobUploads).toBe(1);
  });

  it('falls back to chunked PATCH when the monolithic PUT gets 413', async () => {
    await setup();
    reg.hooks.push((req, res, body) => {
      if (req.method === 'PUT' && body.length > 0) {
        res.writeHead(413).end();
        return true;
      }
      return false;
    });
    const r = await client({ upload: { chunkSize: 30_000 } }).pushBlob(repo(), desc, () =>
      Readable.from([data]),
    );
    expect(r).toBe('uploaded');
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    const patches = reg.log.filter((x) => x.method === 'PATCH');
    expect(patches.map((p) => p.headers['content-range'])).toEqual([
      '0-29999',
      '30000-59999',
      '60000-89999',
      '90000-99999',
    ]);
  });

  it('uses chunks above the threshold and recovers from a 416 by asking where to continue', async () => {
    await setup({ location: 'relative-with-query' });
    let n = 0;
    reg.hooks.push((req, res) => {
      // Pretend the second chunk is out of order once: the registry answers 416.
      if (req.method === 'PATCH' && ++n === 2) {
        res.writeHead(416).end();
        return true;
      }
      return false;
    });
    const c = client({ upload: { chunkSize: 40_000, monolithicMaxBytes: 50_000 } });
    expect(await c.pushBlob(repo(), desc, () => Readable.from([data]))).toBe('uploaded');
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    const methods = reg.log
      .filter((x) => x.url.includes('upload-sessions'))
      .map((x) => `${x.method} ${x.headers['content-range'] ?? ''}`.trim());
    expect(methods).toEqual([
      'PATCH 0-39999',
      'PATCH 40000-79999',
      'GET',
      'PATCH 40000-79999',
      'PATCH 80000-99999',
      'PUT',
    ]);
  });

  it('re-opens the source when the registry lost accepted chunks (Range behind us)', async () => {
    await setup();
    let failed = false;
    reg.hooks.push((req, res) => {
      // The third PATCH fails with 503 and the registry forgets the second chunk:
      // GET on the Location then says 0-39999 and the upload must go back to 40000.
      if (req.method === 'PATCH' && req.headers['content-range'] === '80000-99999' && !failed) {
        failed = true;
        for (const [id, b] of reg.uploads) reg.uploads.set(id, b.subarray(0, 40_000));
        res.writeHead(503).end();
        return true;
      }
      return false;
    });
    let opens = 0;
    const c = client({ upload: { chunkSize: 40_000, monolithicMaxBytes: 50_000 } });
    expect(
      await c.pushBlob(repo(), desc, () => {
        opens++;
        return Readable.from([data.subarray(0, 50_000), data.subarray(50_000)]);
      }),
    ).toBe('uploaded');
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    expect(opens).toBe(2);
    const ranges = reg.log.filter((x) => x.method === 'PATCH').map((x) => x.headers['content-range']);
    expect(ranges).toEqual(['0-39999', '40000-79999', '80000-99999', '40000-79999', '80000-99999']);
    expect(retries).toHaveLength(1);
  });

  it('E_DIGEST_MISMATCH when the local source does not match, or the registry stores another digest', async () => {
    await setup();
    const c = client();
    const wrong = Buffer.from(data);
    wrong[5] = (wrong[5] ?? 0) ^ 1;
    const err = await errorOf(c.pushBlob(repo(), desc, () => Readable.from([wrong])));
    expect(err.code).toBe('E_DIGEST_MISMATCH');
    reg.hooks.push((req, res) => {
      if (req.method === 'PUT' && req.url?.includes('upload-sessions')) {
        res.writeHead(201, { 'docker-content-digest': digestOf(Buffer.from('other')) }).end();
        return true;
      }
      return false;
    });
    expect((await errorOf(c.pushBlob(repo(), desc, () => Readable.from([data])))).code).toBe(
      'E_DIGEST_MISMATCH',
    );
  });

  it('putManifest sends the bytes with the media type and checks the returned digest', async () => {
    await setup();
    const c = client();
    const d = await c.putManifest(repo(), 'v1', manifestBytes, MEDIA_TYPES.ociManifest);
    expect(d).toBe(digestOf(manifestBytes));
    const put = reg.log.find((x) => x.method === 'PUT');
    expect(put?.headers['content-type']).toBe(MEDIA_TYPES.ociManifest);
    expect(reg.manifests.get('org/repo:v1')?.bytes.equals(manifestBytes)).toBe(true);
    const mismatch = await errorOf(
      c.putManifest(repo(), digestOf(Buffer.from('x')), manifestBytes, MEDIA_TYPES.ociManifest),
    );
    expect(mismatch.code).toBe('E_DIGEST_MISMATCH');
    reg.hooks.push((req, res) => {
      if (req.method !== 'PUT') return false;
      res.writeHead(201, { 'docker-content-digest': digestOf(Buffer.from('rewritten')) }).end();
      return true;
    });
    expect((await errorOf(c.putManifest(repo(), 'v2', manifestBytes, MEDIA_TYPES.ociManifest))).code).toBe(
      'E_DIGEST_MISMATCH',
    );
  });
});

describe('manifests', () => {
  it('caps the size (E_TOO_LARGE), checks a digest reference, rejects schema 1', async () => {
    await setup();
    const big = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [],
        pad: 'x'.repeat(5000),
      }),
    );
    reg.manifests.set('org/repo:big', { bytes: big, mediaType: MEDIA_TYPES.ociIndex });
    const c = client({ maxManifestBytes: 4096 });
    expect((await errorOf(c.getManifest(repo(), 'big'))).code).toBe('E_TOO_LARGE');
    // without Content-Length (chunked)
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/chunked')) return false;
      res.writeHead(200, { 'content-type': MEDIA_TYPES.ociIndex });
      res.write(big.subarray(0, 3000));
      res.end(big.subarray(3000));
      return true;
    });
    expect((await errorOf(c.getManifest(repo(), 'chunked'))).code).toBe('E_TOO_LARGE');

    const wanted = digestOf(Buffer.from('something else'));
    reg.manifests.set(`org/repo:${wanted}`, { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const mm = await errorOf(c.getManifest(repo(), wanted));
    expect(mm.code).toBe('E_DIGEST_MISMATCH');
    expect(mm.details.expectedDigest).toBe(wanted);

    const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'org/repo', tag: 'old', fsLayers: [] }));
    reg.manifests.set('org/repo:old', { bytes: s1, mediaType: MEDIA_TYPES.dockerSchema1Signed });
    expect((await errorOf(c.getManifest(repo(), 'old'))).code).toBe('E_MANIFEST_INVALID');

    const accept = reg.log.find((x) => x.url.includes('/manifests/'))?.headers.accept ?? '';
    for (const t of [
      MEDIA_TYPES.ociIndex,
      MEDIA_TYPES.ociManifest,
      MEDIA_TYPES.dockerList,
      MEDIA_TYPES.dockerManifest,
    ]) {
      expect(accept).toContain(t);
    }
    expect(accept).not.toContain('distribution.manifest.v1');
  });

  it('rejects a bad tag-pulled digest header, and bad references locally', async () => {
    await setup();
    reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/t')) return false;
      res.writeHead(200, {
        'content-type': MEDIA_TYPES.ociManifest,
        'docker-content-digest': digestOf(Buffer.from('no')),
      });
      res.end(manifestBytes);
      return true;
    });
    const c = client();
    expect((await errorOf(c.getManifest(repo(), 't'))).code).toBe('E_DIGEST_MISMATCH');
    expect(() => c.getManifest(repo(), 'bad tag')).toThrow(expect.objectContaining({ code: 'E_REFERENCE' }));
    expect(() => c.getManifest({ registry: reg.host, repository: 'Upper' }, 't')).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE' }),
    );
  });

  it('lists tags across Link pages', async () => {
    await setup();
    for (const t of ['a', 'b', 'c', 'd', 'e'])
      reg.manifests.set(`org/repo:${t}`, { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const tags = await client().listTags(repo());
    expect(tags).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(reg.log.filter((x) => x.url.includes('/tags/list'))).toHaveLength(3);
    expect((await errorOf(client().listTags({ registry: reg.host, repository: 'none' }))).code).toBe(
      'E_NOT_FOUND',
    );
  });

  it('keeps at most `concurrency` requests in flight per registry', async () => {
    await setup();
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let inFlight = 0;
    let peak = 0;
    reg.hooks.push((req) => {
      if (!req.url?.includes('/manifests/')) return false;
      inFlight++;
      peak = Math.max(peak, inFlight);
      return new Promise<boolean>((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve(false);
        }, 50),
      );
    });
    const c = client({ concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => c.getManifest(repo(), 't')));
    expect(peak).toBe(2);
  });
});

describe('auth', () => {
  it('Bearer: fetches a token with the scope, reuses it, and re-authenticates once on 401', async () => {
    await setup({ auth: 'bearer', username: 'u', password: 'pw-secret', expiresIn: 300 });
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const c = client({
      credentials: staticCredentials({ [reg.host]: { username: 'u', password: 'pw-secret' } }),
    });
    await c.getManifest(repo(), 't');
    await c.getManifest(repo(), 't');
    expect(reg.tokenRequests).toHaveLength(1);
    expect(reg.tokenRequests[0]?.searchParams.getAll('scope')).toEqual(['repository:org/repo:pull']);
    expect(reg.tokenRequests[0]?.searchParams.get('service')).toBe('fake.registry');
    reg.revokeTokens();
    await c.getManifest(repo(), 't');
    expect(reg.tokenRequests).toHaveLength(2);
  });

  it('Bearer: asks for pull on the mount source too', async () => {
    await setup({ auth: 'bearer' });
    const data = blob(10);
    reg.blobs.set(digestOf(data), data);
    reg.hooks.push((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(404).end();
        return true;
      }
      return false;
    });
    const c = client();
    expect(
      await c.pushBlob(repo(), { digest: digestOf(data), size: 10 }, () => Readable.from([data]), {
        mountFrom: ['127.0.0.1:5000/src/repo'],
      }),
    ).toBe('mounted');
    const scopes = reg.tokenRequests.map((u) => u.searchParams.getAll('scope').sort());
    expect(scopes).toContainEqual([
      'repository:127.0.0.1:5000/src/repo:pull',
      'repository:org/repo:pull,push',
    ]);
  });

  it('E_AUTH when still 401 after re-auth; the password is never in the error', async () => {
    await setup({ auth: 'basic', username: 'u', password: 'right' });
    const c = client({
      credentials: staticCredentials({ [reg.host]: { username: 'u', password: 'wrong-pw-123' } }),
    });
    const err = await errorOf(c.getManifest(repo(), 't'));
    expect(err.code).toBe('E_AUTH');
    expect(err.details.status).toBe(401);
    const everything = JSON.stringify({ m: err.message, h: err.hint, d: err.details, j: err });
    expect(everything).not.toContain('wrong-pw-123');
    expect(everything).not.toContain(Buffer.from('u:wrong-pw-123').toString('base64'));

    await reg.stop();
    await setup({ auth: 'bearer', username: 'u', password: 'right' });
    const c2 = client({
      credentials: staticCredentials({ [reg.host]: { username: 'u', password: 'wrong-pw-123' } }),
    });
    const e2 = await errorOf(c2.getManifest(repo(), 't'));
    expect(e2.code).toBe('E_AUTH');
    expect(JSON.stringify({ m: e2.message, h: e2.hint, d: e2.details })).not.toContain('wrong-pw-123');
  });

  it('Basic: sends credentials once challenged', async () => {
    await setup({ auth: 'basic', username: 'u', password: 'pw' });
    reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const c = client({ credentials: staticCredentials({ [reg.host]: { username: 'u', password: 'pw' } }) });
    await c.getManifest(repo(), 't');
    // probe (401) then the manifest GET already authorized: no extra 401 round trip
    expect(reg.log.map((x) => x.url)).toEqual(['/v2/', '/v2/org/repo/manifests/t']);
  });
});
