/**
 * Protocol behaviour under faults, against the in-test registry (fake-registry.ts):
 * retries, Retry-After, resets, stalls, redirects, manifest checks, bearer tokens,
 * pagination, concurrency. Blob downloads (Range resume) are in blob-download.test.ts,
 * blob uploads (mounts, monolithic PUT, chunked fallback, 416) in upload.test.ts.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../src/registry/credentials.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';
import { digestOf, startFakeRegistry } from './fake-registry.js';
import { blob, errorOf, useFakeRegistry } from './fake-rig.js';

const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf(Buffer.from('{}')), size: 2 },
    layers: [],
  }),
);

const rig = useFakeRegistry();
const { setup, client, repo } = rig;

describe('rig.retries', () => {
  it('rig.retries 503 and 500, then succeeds', async () => {
    await setup();
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    rig.reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/') || n >= 2) return false;
      res.writeHead(n++ === 0 ? 503 : 500).end('busy');
      return true;
    });
    const c = client();
    const m = await c.getManifest(repo(), 't');
    expect(m.digest).toBe(digestOf(manifestBytes));
    expect(rig.retries.map((r) => r.reason)).toEqual(['HTTP 503', 'HTTP 500']);
    expect(c.stats.retries).toBe(2);
  });

  it('honours Retry-After in seconds and as an HTTP date (capped)', async () => {
    await setup();
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    rig.reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/') || n >= 2) return false;
      const retryAfter = n++ === 0 ? '1' : new Date(Date.now() + 60_000).toUTCString();
      res.writeHead(429, { 'retry-after': retryAfter }).end();
      return true;
    });
    const c = client({ retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1500 } });
    const started = Date.now();
    await c.getManifest(repo(), 't');
    expect(rig.retries[0]?.delayMs).toBe(1000);
    expect(rig.retries[1]?.delayMs).toBe(1500); // a minute away, capped at maxDelayMs
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
  });

  it('gives up with E_RETRIES_EXHAUSTED after the configured attempts, keeping the last status', async () => {
    await setup();
    rig.reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/')) return false;
      res.writeHead(502).end();
      return true;
    });
    const err = await errorOf(client({ retry: { attempts: 3, baseDelayMs: 1 } }).getManifest(repo(), 't'));
    expect(err.code).toBe('E_RETRIES_EXHAUSTED');
    expect(err.details.status).toBe(502);
    expect(err.details.attempts).toBe(3);
    expect(rig.reg.log.filter((r) => r.url.includes('/manifests/'))).toHaveLength(3);
  });

  it('does not retry 404, 403 or 400; keeps the registry error (truncated)', async () => {
    await setup();
    const c = client();
    const nf = await errorOf(c.getManifest(repo(), 'nope'));
    expect(nf.code).toBe('E_NOT_FOUND');
    expect(nf.message).toMatch(/tag nope.*org\/repo/);
    expect(nf.details.registryErrors).toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }]);
    rig.reg.hooks.push((req, res) => {
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
    const denied = await errorOf(c.getManifest({ registry: rig.reg.host, repository: 'denied' }, 't'));
    expect(denied.code).toBe('E_DENIED');
    const entries = denied.details.registryErrors as { message: string }[];
    expect(entries[0]?.message.length).toBeLessThan(400);
    const bad = await errorOf(c.getManifest({ registry: rig.reg.host, repository: 'bad' }, 't'));
    expect(bad.code).toBe('E_HTTP');
    expect(bad.details.status).toBe(400);
    expect(rig.retries).toEqual([]);
  });

  it('rig.retries a connection reset and a stalled response (headers timeout)', async () => {
    await setup();
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let n = 0;
    rig.reg.hooks.push((req, res) => {
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
    expect(rig.retries.map((r) => r.reason)).toEqual([
      expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/),
      'UND_ERR_HEADERS_TIMEOUT',
    ]);
  });

  it('rig.retries refused connections, then E_RETRIES_EXHAUSTED wrapping E_NETWORK', async () => {
    await setup();
    const host = rig.reg.host;
    await rig.reg.stop();
    const err = await errorOf(
      client({ retry: { attempts: 2, baseDelayMs: 1 } }).blobExists(
        { registry: host, repository: 'a' },
        digestOf(Buffer.from('x')),
      ),
    );
    expect(err.code).toBe('E_RETRIES_EXHAUSTED');
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('E_NETWORK');
    rig.reg = await startFakeRegistry(); // for afterEach
  });
});

describe('manifests', () => {
  it('putManifest sends the bytes with the media type and checks the returned digest', async () => {
    await setup();
    const c = client();
    const d = await c.putManifest(repo(), 'v1', manifestBytes, MEDIA_TYPES.ociManifest);
    expect(d).toBe(digestOf(manifestBytes));
    const put = rig.reg.log.find((x) => x.method === 'PUT');
    expect(put?.headers['content-type']).toBe(MEDIA_TYPES.ociManifest);
    expect(rig.reg.manifests.get('org/repo:v1')?.bytes.equals(manifestBytes)).toBe(true);
    const mismatch = await errorOf(
      c.putManifest(repo(), digestOf(Buffer.from('x')), manifestBytes, MEDIA_TYPES.ociManifest),
    );
    expect(mismatch.code).toBe('E_DIGEST_MISMATCH');
    rig.reg.hooks.push((req, res) => {
      if (req.method !== 'PUT') return false;
      res.writeHead(201, { 'docker-content-digest': digestOf(Buffer.from('rewritten')) }).end();
      return true;
    });
    expect((await errorOf(c.putManifest(repo(), 'v2', manifestBytes, MEDIA_TYPES.ociManifest))).code).toBe(
      'E_DIGEST_MISMATCH',
    );
  });

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
    rig.reg.manifests.set('org/repo:big', { bytes: big, mediaType: MEDIA_TYPES.ociIndex });
    const c = client({ maxManifestBytes: 4096 });
    expect((await errorOf(c.getManifest(repo(), 'big'))).code).toBe('E_TOO_LARGE');
    // without Content-Length (chunked)
    rig.reg.hooks.push((req, res) => {
      if (!req.url?.includes('/manifests/chunked')) return false;
      res.writeHead(200, { 'content-type': MEDIA_TYPES.ociIndex });
      res.write(big.subarray(0, 3000));
      res.end(big.subarray(3000));
      return true;
    });
    expect((await errorOf(c.getManifest(repo(), 'chunked'))).code).toBe('E_TOO_LARGE');

    const wanted = digestOf(Buffer.from('something else'));
    rig.reg.manifests.set(`org/repo:${wanted}`, { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const mm = await errorOf(c.getManifest(repo(), wanted));
    expect(mm.code).toBe('E_DIGEST_MISMATCH');
    expect(mm.details.expectedDigest).toBe(wanted);

    const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'org/repo', tag: 'old', fsLayers: [] }));
    rig.reg.manifests.set('org/repo:old', { bytes: s1, mediaType: MEDIA_TYPES.dockerSchema1Signed });
    expect((await errorOf(c.getManifest(repo(), 'old'))).code).toBe('E_MANIFEST_INVALID');

    const accept = rig.reg.log.find((x) => x.url.includes('/manifests/'))?.headers.accept ?? '';
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
    rig.reg.hooks.push((req, res) => {
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
    expect(() => c.getManifest({ registry: rig.reg.host, repository: 'Upper' }, 't')).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE' }),
    );
  });

  it('lists tags across Link pages', async () => {
    await setup();
    for (const t of ['a', 'b', 'c', 'd', 'e'])
      rig.reg.manifests.set(`org/repo:${t}`, { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const tags = await client().listTags(repo());
    expect(tags).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(rig.reg.log.filter((x) => x.url.includes('/tags/list'))).toHaveLength(3);
    expect((await errorOf(client().listTags({ registry: rig.reg.host, repository: 'none' }))).code).toBe(
      'E_NOT_FOUND',
    );
  });

  it('keeps at most `concurrency` requests in flight per registry', async () => {
    await setup();
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    let inFlight = 0;
    let peak = 0;
    rig.reg.hooks.push((req) => {
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
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const c = client({
      credentials: staticCredentials({ [rig.reg.host]: { username: 'u', password: 'pw-secret' } }),
    });
    await c.getManifest(repo(), 't');
    await c.getManifest(repo(), 't');
    expect(rig.reg.tokenRequests).toHaveLength(1);
    expect(rig.reg.tokenRequests[0]?.searchParams.getAll('scope')).toEqual(['repository:org/repo:pull']);
    expect(rig.reg.tokenRequests[0]?.searchParams.get('service')).toBe('fake.registry');
    rig.reg.revokeTokens();
    await c.getManifest(repo(), 't');
    expect(rig.reg.tokenRequests).toHaveLength(2);
  });

  it('Bearer: asks for pull on the mount source too', async () => {
    await setup({ auth: 'bearer' });
    const data = blob(10);
    rig.reg.blobs.set(digestOf(data), data);
    rig.reg.hooks.push((req, res) => {
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
    const scopes = rig.reg.tokenRequests.map((u) => u.searchParams.getAll('scope').sort());
    expect(scopes).toContainEqual([
      'repository:127.0.0.1:5000/src/repo:pull',
      'repository:org/repo:pull,push',
    ]);
  });

  it('E_AUTH when still 401 after re-auth; the password is never in the error', async () => {
    await setup({ auth: 'basic', username: 'u', password: 'right' });
    const c = client({
      credentials: staticCredentials({ [rig.reg.host]: { username: 'u', password: 'wrong-pw-123' } }),
    });
    const err = await errorOf(c.getManifest(repo(), 't'));
    expect(err.code).toBe('E_AUTH');
    expect(err.details.status).toBe(401);
    const everything = JSON.stringify({ m: err.message, h: err.hint, d: err.details, j: err });
    expect(everything).not.toContain('wrong-pw-123');
    expect(everything).not.toContain(Buffer.from('u:wrong-pw-123').toString('base64'));

    await rig.reg.stop();
    await setup({ auth: 'bearer', username: 'u', password: 'right' });
    const c2 = client({
      credentials: staticCredentials({ [rig.reg.host]: { username: 'u', password: 'wrong-pw-123' } }),
    });
    const e2 = await errorOf(c2.getManifest(repo(), 't'));
    expect(e2.code).toBe('E_AUTH');
    expect(JSON.stringify({ m: e2.message, h: e2.hint, d: e2.details })).not.toContain('wrong-pw-123');
  });

  it('Basic: sends credentials once challenged', async () => {
    await setup({ auth: 'basic', username: 'u', password: 'pw' });
    rig.reg.manifests.set('org/repo:t', { bytes: manifestBytes, mediaType: MEDIA_TYPES.ociManifest });
    const c = client({
      credentials: staticCredentials({ [rig.reg.host]: { username: 'u', password: 'pw' } }),
    });
    await c.getManifest(repo(), 't');
    // probe (401) then the manifest GET already authorized: no extra 401 round trip
    expect(rig.reg.log.map((x) => x.url)).toEqual(['/v2/', '/v2/org/repo/manifests/t']);
  });
});
