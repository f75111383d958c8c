import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { faults, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import type { TinyImage } from '../helpers/tiny-image.js';

const LAYER_BYTES = 64 * 1024;

describe('fault proxy in front of a registry', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let image: TinyImage;
  let blobPath: string;
  const manifestPath = '/v2/fp/app/manifests/v1';
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };

  beforeAll(async () => {
    reg = await startRegistry();
    // random bytes do not compress: the layer blob is a little over LAYER_BYTES
    image = await pushTinyImage(reg, 'fp/app:v1', 31, { layerBytes: LAYER_BYTES });
    blobPath = `/v2/fp/app/blobs/${image.layers[0]?.digest ?? ''}`;
    proxy = await startFaultProxy(reg.host);
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });
  beforeEach(() => {
    proxy.setPlan({});
    proxy.log.length = 0;
  });

  const layerSize = (): number => image.layers[0]?.size ?? 0;

  it('forwards untouched requests and logs them', async () => {
    const res = await request(`${proxy.url}${manifestPath}`, { headers: accept });
    expect(res.statusCode).toBe(200);
    expect(Buffer.from(await res.body.arrayBuffer()).equals(image.manifest.bytes)).toBe(true);
    await proxy.settled();
    expect(proxy.log).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: manifestPath,
        status: 200,
        bytes: image.manifest.size,
        done: true,
      }),
    ]);
    expect(proxy.log[0]?.fault).toBeUndefined();
  });

  it('fails the first N matching requests with 503, then lets them through', async () => {
    proxy.setPlan({ rules: [faults.failFirst(2, 'GET', /\/manifests\//)] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(`${proxy.url}${manifestPath}`, { headers: accept });
      statuses.push(res.statusCode);
      await res.body.dump();
    }
    // blobs do not match the rule
    const blob = await request(`${proxy.url}${blobPath}`, { method: 'HEAD' });
    await blob.body.dump();
    expect(statuses).toEqual([503, 503, 200]);
    expect(blob.statusCode).toBe(200);
    expect(proxy.log.map((e) => e.fault)).toEqual(['status:503', 'status:503', undefined, undefined]);
  });

  it('answers 429 with Retry-After', async () => {
    proxy.setPlan({ rules: [faults.tooManyRequests(7, { times: 1 })] });
    const res = await request(`${proxy.url}${manifestPath}`, { headers: accept });
    await res.body.dump();
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
  });

  it('resets a blob GET after K bytes and logs the Range of the retry', async () => {
    proxy.setPlan({ rules: [faults.resetBlobGet(1000, { times: 1 })] });
    const res = await request(`${proxy.url}${blobPath}`);
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(layerSize());
    await expect(res.body.arrayBuffer()).rejects.toThrow();
    const retry = await request(`${proxy.url}${blobPath}`, { headers: { range: 'bytes=1000-' } });
    const rest = Buffer.from(await retry.body.arrayBuffer());
    expect(retry.statusCode).toBe(206);
    expect(rest.equals(image.layers[0]?.bytes.subarray(1000) ?? Buffer.alloc(0))).toBe(true);
    await proxy.settled();
    expect(proxy.log.map((e) => [e.status, e.bytes, e.range, e.fault])).toEqual([
      [200, 1000, undefined, 'reset'],
      [206, layerSize() - 1000, 'bytes=1000-', undefined],
    ]);
  });

  it('resets right after the headers with afterBytes 0, also with a TCP RST', async () => {
    for (const hard of [false, true]) {
      proxy.setPlan({
        rules: [{ method: 'GET', path: /blobs/, times: 1, fault: { kind: 'reset', afterBytes: 0, hard } }],
      });
      const res = await request(`${proxy.url}${blobPath}`);
      expect(res.statusCode).toBe(200);
      await expect(res.body.arrayBuffer()).rejects.toThrow();
    }
    await proxy.settled();
    expect(proxy.log.map((e) => e.bytes)).toEqual([0, 0]);
  });

  it('rewrites upload Locations to the proxy and resets an upload mid-body', async () => {
    const start = await request(`${proxy.url}/v2/fp/upload/blobs/uploads/`, { method: 'POST' });
    await start.body.dump();
    expect(start.statusCode).toBe(202);
    const location = String(start.headers.location);
    expect(location.startsWith(`${proxy.url}/v2/fp/upload/blobs/uploads/`)).toBe(true);

    proxy.setPlan({ rules: [faults.resetUpload(4096, { times: 1 })] });
    const body = Buffer.alloc(32 * 1024, 7);
    await expect(
      request(location, {
        method: 'PATCH',
        body,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      }).then((r) => r.body.dump()),
    ).rejects.toThrow();
    await proxy.settled();
    const patch = proxy.log.find((e) => e.method === 'PATCH');
    expect(patch).toMatchObject({ requestBytes: 4096, fault: 'reset', status: 0 });
  });

  it('skips the first matches and throttles an upload body', async () => {
    const start = await request(`${proxy.url}/v2/fp/slow/blobs/uploads/`, { method: 'POST' });
    await start.body.dump();
    const location = String(start.headers.location);
    proxy.setPlan({
      rules: [
        { method: 'PATCH', skip: 1, fault: { kind: 'status', status: 500 } },
        { method: 'PATCH', fault: { kind: 'throttle', bytesPerSecond: 32 * 1024, on: 'request' } },
      ],
    });
    const body = Buffer.alloc(16 * 1024, 1);
    const started = Date.now();
    const res = await request(location, {
      method: 'PATCH',
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const next = String(res.headers.location);
    const second = await request(next, { method: 'PATCH', body: 'x' });
    await second.body.dump();
    expect(second.statusCode).toBe(500);
    expect(proxy.log.slice(1).map((e) => [e.method, e.fault, e.requestBytes])).toEqual([
      ['PATCH', 'throttle', 16 * 1024],
      ['PATCH', 'status:500', 0],
    ]);
  });

  it('stalls headers by N ms', async () => {
    proxy.setPlan({ rules: [{ path: /manifests/, fault: { kind: 'stall', ms: 300 } }] });
    const started = Date.now();
    const res = await request(`${proxy.url}${manifestPath}`, { headers: accept });
    const headersAfter = Date.now() - started;
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(headersAfter).toBeGreaterThanOrEqual(280);
  });

  it('stalls the body after K bytes, and a client timeout sees it', async () => {
    proxy.setPlan({
      rules: [{ path: /blobs/, fault: { kind: 'stall', ms: 2000, phase: 'body', afterBytes: 100 } }],
    });
    const started = Date.now();
    const res = await request(`${proxy.url}${blobPath}`, { bodyTimeout: 200 });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.statusCode).toBe(200);
    await expect(res.body.arrayBuffer()).rejects.toThrow(/timeout/i);
    await proxy.settled();
    expect(proxy.log[0]?.bytes).toBe(100);
  });

  it('throttles bandwidth', async () => {
    proxy.setPlan({ rules: [{ path: /blobs/, fault: { kind: 'throttle', bytesPerSecond: 128 * 1024 } }] });
    const started = Date.now();
    const res = await request(`${proxy.url}${blobPath}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const elapsed = Date.now() - started;
    expect(bytes.equals(image.layers[0]?.bytes ?? Buffer.alloc(0))).toBe(true);
    // ~64 KiB at 128 KiB/s ≈ 500 ms
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(5000);
  });

  it('goes down with 503 or by closing connections, and comes back', async () => {
    proxy.setPlan({ down: '503' });
    const down = await request(`${proxy.url}/v2/`);
    await down.body.dump();
    expect(down.statusCode).toBe(503);
    proxy.setPlan({ down: 'close' });
    await expect(request(`${proxy.url}/v2/`).then((r) => r.body.dump())).rejects.toThrow();
    proxy.setPlan({});
    const up = await request(`${proxy.url}/v2/`);
    await up.body.dump();
    expect(up.statusCode).toBe(200);
    expect(proxy.log.map((e) => e.fault)).toEqual(['down', 'down', undefined]);
  });

  it('closes the connection without an answer', async () => {
    proxy.setPlan({ rules: [{ times: 1, fault: { kind: 'close' } }] });
    await expect(request(`${proxy.url}/v2/`).then((r) => r.body.dump())).rejects.toThrow();
  });

  it('draws probabilistic faults from the seed, repeatably', async () => {
    const run = async (seed: number): Promise<number[]> => {
      proxy.setPlan({
        seed,
        rules: [{ path: /^\/v2\/$/, probability: 0.5, fault: { kind: 'status', status: 503 } }],
      });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await request(`${proxy.url}/v2/`);
        await res.body.dump();
        statuses.push(res.statusCode);
      }
      return statuses;
    };
    const a = await run(42);
    const b = await run(42);
    expect(a).toEqual(b);
    expect(a).toContain(503);
    expect(a).toContain(200);
  });

  it('answers 502 when the upstream is gone', async () => {
    const dead = await startFaultProxy('127.0.0.1:1');
    try {
      const res = await request(`${dead.url}/v2/`);
      await res.body.dump();
      expect(res.statusCode).toBe(502);
    } finally {
      await dead.stop();
    }
  });
});
