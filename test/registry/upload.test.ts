/**
 * Blob uploads against the in-test registry (fake-registry.ts): present, mounted from
 * another repository, one streamed PUT, the chunked fallback when the PUT is refused,
 * 416 answered by asking where to continue, a source that does not match its digest.
 */
import { describe, expect, it } from 'vitest';
import { digestOf } from './fake-registry.js';
import { blob, errorOf, useFakeRegistry } from './fake-rig.js';

import { Readable } from 'node:stream';

const rig = useFakeRegistry();
const { setup, client, repo } = rig;

describe('uploads', () => {
  const data = blob(100_000, 7);
  const desc = { digest: digestOf(data), size: data.length };

  it.each(['relative', 'absolute', 'relative-with-query', 'absolute-with-query'] as const)(
    'appends the digest to a %s Location without rebuilding it',
    async (location) => {
      await setup({ location });
      const r = await client().pushBlob(repo(), desc, () => Readable.from([data]));
      expect(r).toBe('uploaded');
      expect(rig.reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
      const put = rig.reg.log.find((x) => x.method === 'PUT');
      const u = new URL(put?.url ?? '', rig.reg.url);
      expect(u.searchParams.get('digest')).toBe(desc.digest);
      if (location.endsWith('query')) expect(u.searchParams.get('_state')).toMatch(/-state$/);
      if (location === 'relative-with-query') expect(u.searchParams.get('x')).toBe('1');
    },
  );

  it('reports present blobs and mounts from another repository', async () => {
    await setup();
    rig.reg.blobs.set(desc.digest, data);
    let opens = 0;
    const open = (): Readable => {
      opens++;
      return Readable.from([data]);
    };
    const c = client();
    expect(await c.pushBlob(repo(), desc, open)).toBe('present');
    rig.reg.hooks.push((req, res) => {
      if (req.method === 'HEAD' && req.url?.includes('/blobs/')) {
        res.writeHead(404).end();
        return true;
      }
      return false;
    });
    expect(await c.pushBlob(repo(), desc, open, { mountFrom: ['other/repo'] })).toBe('mounted');
    expect(opens).toBe(0);
    expect(c.stats.blobMounts).toBe(1);
    const post = rig.reg.log.find((x) => x.method === 'POST');
    const u = new URL(post?.url ?? '', rig.reg.url);
    expect(u.searchParams.get('mount')).toBe(desc.digest);
    expect(u.searchParams.get('from')).toBe('other/repo');
  });

  it('calls open() again when an upload is retried', async () => {
    await setup();
    let n = 0;
    rig.reg.hooks.push((req, res) => {
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
    expect(rig.reg.log.filter((x) => x.method === 'POST')).toHaveLength(2); // fresh session per attempt
    expect(c.stats.blobUploads).toBe(1);
  });

  it('falls back to chunked PATCH when the monolithic PUT gets 413', async () => {
    await setup();
    rig.reg.hooks.push((req, res, body) => {
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
    expect(rig.reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    const patches = rig.reg.log.filter((x) => x.method === 'PATCH');
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
    rig.reg.hooks.push((req, res) => {
      // Pretend the second chunk is out of order once: the registry answers 416.
      if (req.method === 'PATCH' && ++n === 2) {
        res.writeHead(416).end();
        return true;
      }
      return false;
    });
    const c = client({ upload: { chunkSize: 40_000, monolithicMaxBytes: 50_000 } });
    expect(await c.pushBlob(repo(), desc, () => Readable.from([data]))).toBe('uploaded');
    expect(rig.reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    const methods = rig.reg.log
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
    rig.reg.hooks.push((req, res) => {
      // The third PATCH fails with 503 and the registry forgets the second chunk:
      // GET on the Location then says 0-39999 and the upload must go back to 40000.
      if (req.method === 'PATCH' && req.headers['content-range'] === '80000-99999' && !failed) {
        failed = true;
        for (const [id, b] of rig.reg.uploads) rig.reg.uploads.set(id, b.subarray(0, 40_000));
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
    expect(rig.reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    expect(opens).toBe(2);
    const ranges = rig.reg.log.filter((x) => x.method === 'PATCH').map((x) => x.headers['content-range']);
    expect(ranges).toEqual(['0-39999', '40000-79999', '80000-99999', '40000-79999', '80000-99999']);
    expect(rig.retries).toHaveLength(1);
  });

  it('E_DIGEST_MISMATCH when the local source does not match, or the registry stores another digest', async () => {
    await setup();
    const c = client();
    const wrong = Buffer.from(data);
    wrong[5] = (wrong[5] ?? 0) ^ 1;
    const err = await errorOf(c.pushBlob(repo(), desc, () => Readable.from([wrong])));
    expect(err.code).toBe('E_DIGEST_MISMATCH');
    rig.reg.hooks.push((req, res) => {
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
});
