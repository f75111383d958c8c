/**
 * The client against the real registry through the fault-injecting proxy: resumed
 * downloads, retried uploads (fresh source each time), chunked recovery, 429/503.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';
import { faults, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const data = randomBytes(2 * 1024 * 1024);
const desc = { digest: sha(data), size: data.length };

let reg: TestRegistry;
let proxy: FaultProxy;
let tmp: string;
let client: RegistryClient;
let retries: string[] = [];

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg.host);
  tmp = await makeTempDir('bale-proxy-it-');
  client = new RegistryClient({
    retry: { attempts: 5, baseDelayMs: 5, maxDelayMs: 200 },
    timeoutMs: 3000,
    upload: { chunkSize: 512 * 1024, monolithicMaxBytes: 4 * 1024 * 1024 },
    onRetry: (e) => retries.push(e.reason),
  });
  const direct = new RegistryClient();
  try {
    await direct.pushBlob({ registry: reg.host, repository: 'src/repo' }, desc, () => Readable.from([data]));
  } finally {
    await direct.close();
  }
});

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await reg?.stop();
  if (tmp !== undefined) await removeTempDir(tmp);
});

beforeEach(() => {
  retries = [];
  proxy.setPlan({});
  proxy.log.length = 0;
});

describe('through the fault proxy', () => {
  it('resumes a blob download cut mid-body with a Range request', async () => {
    proxy.setPlan({ rules: [faults.resetBlobGet(700_000, { times: 1 })] });
    const dest = join(tmp, 'blob');
    const r = await client.downloadBlob({ registry: proxy.host, repository: 'src/repo' }, desc, dest);
    expect(r).toEqual({ resumedFrom: 0 });
    expect(sha(await readFile(dest))).toBe(desc.digest);
    const gets = proxy.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/'));
    expect(gets.length).toBe(2);
    expect(gets[0]?.fault).toBe('reset');
    expect(gets[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(retries).toHaveLength(1);
  });

  it('resumes a stream through two resets', async () => {
    proxy.setPlan({ rules: [faults.resetBlobGet(300_000, { times: 2 })] });
    const got = await buffer(client.openBlob({ registry: proxy.host, repository: 'src/repo' }, desc));
    expect(sha(got)).toBe(desc.digest);
    expect(proxy.log.filter((l) => l.path.includes('/blobs/') && l.range !== undefined)).toHaveLength(2);
  });

  it('retries a monolithic upload cut mid-body with a fresh source', async () => {
    const blob = randomBytes(1024 * 1024);
    const d = { digest: sha(blob), size: blob.length };
    proxy.setPlan({ rules: [faults.resetUpload(200_000, { method: 'PUT', times: 1 })] });
    let opens = 0;
    const r = await client.pushBlob({ registry: proxy.host, repository: 'dst/mono' }, d, () => {
      opens++;
      return Readable.from([blob.subarray(0, 300_000), blob.subarray(300_000)]);
    });
    expect(r).toBe('uploaded');
    expect(opens).toBe(2);
    expect(await client.blobExists({ registry: reg.host, repository: 'dst/mono' }, d.digest)).toBe(true);
  });

  it('recovers a chunked upload whose PATCH was cut (distribution drops the session: a new one starts)', async () => {
    const blob = randomBytes(5 * 1024 * 1024);
    const d = { digest: sha(blob), size: blob.length };
    proxy.setPlan({ rules: [faults.resetUpload(100_000, { method: 'PATCH', skip: 2, times: 1 })] });
    const r = await client.pushBlob({ registry: proxy.host, repository: 'dst/chunked' }, d, () =>
      Readable.from([blob]),
    );
    expect(r).toBe('uploaded');
    const methods = proxy.log.filter((l) => l.path.includes('/uploads/')).map((l) => l.method);
    expect(methods.filter((m) => m === 'PATCH').length).toBeGreaterThanOrEqual(11);
    expect(methods).toContain('GET'); // asked where to continue
    expect(methods.filter((m) => m === 'POST')).toHaveLength(2); // the session was lost: started over
    expect(retries).toEqual(expect.arrayContaining(['upload session lost']));
    const back = await buffer(client.openBlob({ registry: reg.host, repository: 'dst/chunked' }, d));
    expect(back.equals(blob)).toBe(true);
  });

  it('rides out 503s and 429 with Retry-After on manifests', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, digest: desc.digest, size: desc.size },
        layers: [],
      }),
    );
    proxy.setPlan({
      rules: [
        faults.failFirst(2, 'PUT', /\/manifests\//, 503),
        faults.tooManyRequests(0, { method: 'GET', path: /\/manifests\//, times: 1 }),
      ],
    });
    const repo = { registry: proxy.host, repository: 'src/repo' };
    const d = await client.putManifest(repo, 'v1', manifest, MEDIA_TYPES.ociManifest);
    const got = await client.getManifest(repo, 'v1');
    expect(got.digest).toBe(d);
    expect(retries).toEqual(['HTTP 503', 'HTTP 503', 'HTTP 429']);
  });
});
