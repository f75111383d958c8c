/**
 * Chunked PATCH uploads: the chunk sizes (two of the first size, then doubling up to the
 * largest), a PATCH sent again after a 401 (its body read again from the same offset),
 * and the default sizes against the real registry.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { seededBytes } from '../helpers/prng.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { digestOf, startFakeRegistry, type FakeRegistry } from './fake-registry.js';

const MiB = 1024 * 1024;
let stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});

function client(opts: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient({
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 20 },
    timeoutMs: 10_000,
    ...opts,
  });
  stops.push(() => c.close());
  return c;
}

async function fake(opts: Parameters<typeof startFakeRegistry>[0] = {}): Promise<FakeRegistry> {
  const reg = await startFakeRegistry(opts);
  stops.push(() => reg.stop());
  return reg;
}

const ranges = (reg: FakeRegistry): (string | undefined)[] =>
  reg.log.filter((x) => x.method === 'PATCH').map((x) => x.headers['content-range'] as string | undefined);

describe('chunked upload', () => {
  it('sends two chunks of the first size, then doubles each up to the largest', async () => {
    const reg = await fake();
    const data = seededBytes(3, 20_000);
    const desc = { digest: digestOf(data), size: data.length };
    const c = client({ upload: { chunkSize: 1000, maxChunkSize: 4000, monolithicMaxBytes: 1 } });
    expect(
      await c.pushBlob({ registry: reg.host, repository: 'org/repo' }, desc, () => Readable.from([data])),
    ).toBe('uploaded');
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    expect(ranges(reg)).toEqual([
      '0-999',
      '1000-1999',
      '2000-3999',
      '4000-7999',
      '8000-11999',
      '12000-15999',
      '16000-19999',
    ]);
  });

  it('a chunk size given alone is the size of every chunk', async () => {
    const reg = await fake();
    const data = seededBytes(4, 5000);
    const desc = { digest: digestOf(data), size: data.length };
    const c = client({ upload: { chunkSize: 2000, monolithicMaxBytes: 1 } });
    await c.pushBlob({ registry: reg.host, repository: 'org/repo' }, desc, () => Readable.from([data]));
    expect(ranges(reg)).toEqual(['0-1999', '2000-3999', '4000-4999']);
  });

  it('a PATCH refused with 401 is sent again after the token is renewed, with the same bytes', async () => {
    const reg = await fake({ auth: 'bearer' });
    let patches = 0;
    reg.hooks.push(() => {
      // The third PATCH arrives after the token expired: its bytes were read, then refused.
      if (reg.log.at(-1)?.method === 'PATCH' && ++patches === 3) reg.revokeTokens();
      return false;
    });
    const data = seededBytes(5, 10_000);
    const desc = { digest: digestOf(data), size: data.length };
    let opens = 0;
    const c = client({ upload: { chunkSize: 1000, maxChunkSize: 4000, monolithicMaxBytes: 1 } });
    const r = await c.pushBlob({ registry: reg.host, repository: 'org/repo' }, desc, () => {
      opens++;
      // Buffers of 700 bytes, so that chunks end inside them.
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += 700) parts.push(data.subarray(i, i + 700));
      return Readable.from(parts);
    });
    expect(r).toBe('uploaded');
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    expect(ranges(reg)).toEqual(['0-999', '1000-1999', '2000-3999', '2000-3999', '4000-7999', '8000-9999']);
    // Going back to byte 2000 re-read the source from its start.
    expect(opens).toBe(2);
  });

  it('a chunk refused as too large (413) halves, and the chunks never grow back to the refused size', async () => {
    const reg = await fake();
    const KiB = 1024;
    reg.hooks.push((req, res, body) => {
      // A proxy in front of the registry that takes no body over 1.5 MiB.
      if (req.method === 'PATCH' && body.length > 1536 * KiB) {
        res.writeHead(413).end();
        return true;
      }
      return false;
    });
    const data = seededBytes(7, 5 * 1024 * KiB);
    const desc = { digest: digestOf(data), size: data.length };
    const c = client({ upload: { chunkSize: 512 * KiB, maxChunkSize: 4096 * KiB, monolithicMaxBytes: 1 } });
    await c.pushBlob({ registry: reg.host, repository: 'org/repo' }, desc, () => Readable.from([data]));
    expect(reg.blobs.get(desc.digest)?.equals(data)).toBe(true);
    const sizes = reg.log.filter((x) => x.method === 'PATCH').map((x) => x.bodyBytes / KiB);
    expect(sizes).toEqual([512, 512, 1024, 2048, 1024, 1024, 1024]);
  });

  it('the real registry accepts the default chunks: 8, 8, 16 MiB, then the rest', async () => {
    const reg: TestRegistry = await startRegistry({ auth: 'none' });
    stops.push(() => reg.stop());
    const proxy: FaultProxy = await startFaultProxy(reg.host);
    stops.push(() => proxy.stop());
    const data = seededBytes(6, 40 * MiB);
    const desc = { digest: digestOf(data), size: data.length };
    const c = client({ upload: { monolithicMaxBytes: MiB } });
    const target = { registry: proxy.host, repository: 'chunks/big' };
    expect(await c.pushBlob(target, desc, () => Readable.from([data]))).toBe('uploaded');
    await proxy.settled();
    const sent = proxy.log.filter((l) => l.method === 'PATCH').map((l) => l.requestBytes / MiB);
    expect(sent).toEqual([8, 8, 16, 8]);
    const back = await fetch(`http://${reg.host}/v2/chunks/big/blobs/${desc.digest}`);
    expect(back.status).toBe(200);
    expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
  }, 120_000);
});
