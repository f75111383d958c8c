/**
 * Blob downloads against the in-test registry (fake-registry.ts): a cut body resumed
 * with Range (206, or 200 with the bytes already held skipped), stalls, a `.partial`
 * file continued, and the size and digest checks at the end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../src/registry/credentials.js';
import { digestOf } from './fake-registry.js';
import { blob, errorOf, useFakeRegistry } from './fake-rig.js';

const rig = useFakeRegistry();
const { setup, client, repo } = rig;

describe('blob downloads', () => {
  const data = blob(300_000);
  const digest = digestOf(data);
  const desc = { digest, size: data.length };

  function resetBlobAfter(bytes: number, times = 1): void {
    let n = 0;
    rig.reg.hooks.push((req, res) => {
      if (req.method !== 'GET' || !req.url?.includes('/blobs/sha256:') || n >= times) return false;
      n++;
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, bytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return true;
    });
  }

  it('resumes an interrupted body with Range (206)', async () => {
    await setup();
    rig.reg.blobs.set(digest, data);
    resetBlobAfter(100_000);
    const c = client();
    const got = await buffer(c.openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    const gets = rig.reg.log.filter((r) => r.url.includes('/blobs/'));
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(gets[1]?.headers.range ?? '')?.[1])).toBeGreaterThan(0);
    expect(rig.retries).toHaveLength(1);
    expect(c.stats.bytesDownloaded).toBe(data.length);
  });

  it('resumes by skipping bytes when the server answers the Range request with 200', async () => {
    await setup({ ignoreRange: true });
    rig.reg.blobs.set(digest, data);
    resetBlobAfter(120_000, 2);
    const got = await buffer(client().openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    expect(rig.reg.log.filter((r) => r.url.includes('/blobs/'))).toHaveLength(3);
  });

  it('resumes after a stalled body (idle timeout)', async () => {
    await setup();
    rig.reg.blobs.set(digest, data);
    let n = 0;
    rig.reg.hooks.push((req, res) => {
      if (req.method !== 'GET' || !req.url?.includes('/blobs/') || n++ > 0) return false;
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, 50_000));
      setTimeout(() => res.destroy(), 3000);
      return true;
    });
    const got = await buffer(client({ timeoutMs: 300 }).openBlob(repo(), desc));
    expect(got.equals(data)).toBe(true);
    expect(rig.retries[0]?.reason).toMatch(/UND_ERR_BODY_TIMEOUT/);
  });

  it('E_DIGEST_MISMATCH for corrupt content, E_SIZE_MISMATCH for a longer body', async () => {
    await setup();
    const corrupt = Buffer.from(data);
    corrupt[1000] = (corrupt[1000] ?? 0) ^ 0xff;
    rig.reg.blobs.set(digest, corrupt);
    const c = client();
    expect((await errorOf(buffer(c.openBlob(repo(), desc)))).code).toBe('E_DIGEST_MISMATCH');
    rig.reg.blobs.set(digest, Buffer.concat([data, Buffer.from('extra')]));
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
      rig.reg.hooks.push((req, res) => {
        if (req.method !== 'GET' || !req.url?.includes('/blobs/')) return false;
        if (req.headers.authorization === undefined) return false; // let the challenge happen
        res.writeHead(307, { location: cdnUrl }).end();
        return true;
      });
      const c = client({
        credentials: staticCredentials({ [rig.reg.host]: { username: 'u', password: 'secret-pw' } }),
      });
      const got = await buffer(c.openBlob(repo(), desc));
      expect(got.equals(data)).toBe(true);
      expect(seen).toEqual([undefined]);
      const regGets = rig.reg.log.filter((r) => r.url.includes('/blobs/'));
      expect(regGets.at(-1)?.headers.authorization).toMatch(/^Basic /);
    } finally {
      await new Promise<void>((r) => cdn.close(() => r()));
    }
  });

  it('downloadBlob continues a .partial file left by a crashed run', async () => {
    await setup();
    rig.reg.blobs.set(digest, data);
    const dir = await mkdtemp(join(tmpdir(), 'bale-dl-'));
    try {
      const dest = join(dir, 'blob');
      await writeFile(`${dest}.partial`, data.subarray(0, 123_456));
      const seenBytes: number[] = [];
      const r = await client().downloadBlob(repo(), desc, dest, { onBytes: (n) => seenBytes.push(n) });
      expect(r).toEqual({ resumedFrom: 123_456 });
      expect((await readFile(dest)).equals(data)).toBe(true);
      await expect(stat(`${dest}.partial`)).rejects.toThrow();
      expect(rig.reg.log.filter((x) => x.url.includes('/blobs/'))[0]?.headers.range).toBe('bytes=123456-');
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
      const before = rig.reg.log.length;
      expect(await client().downloadBlob(repo(), desc, dest)).toEqual({ resumedFrom: data.length });
      expect(rig.reg.log.length).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('downloadBlob survives a reset mid-way', async () => {
    await setup();
    rig.reg.blobs.set(digest, data);
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
