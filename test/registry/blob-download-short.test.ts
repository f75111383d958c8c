/**
 * A registry holding fewer bytes of a blob than the manifest says (the real registry,
 * asked for more than it stores): the download stops with E_SIZE_MISMATCH naming both
 * sizes, after one Range request, instead of a network or range error.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { isBaleError } from '../../src/errors.js';
import { seededBytes } from '../helpers/prng.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { digestOf } from './fake-registry.js';

let reg: TestRegistry;
let proxy: FaultProxy;
let client: RegistryClient;
const data = seededBytes(51, 200_000);
const desc = { digest: digestOf(data), size: data.length };

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg.host);
  client = new RegistryClient({ retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 10 }, timeoutMs: 10_000 });
  await client.pushBlob({ registry: reg.host, repository: 'short/blob' }, desc, () => Readable.from([data]));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await reg?.stop();
});

describe('a blob shorter than its descriptor', () => {
  it('E_SIZE_MISMATCH with both sizes, after one Range request', async () => {
    const said = { digest: desc.digest, size: data.length + 1000 };
    const err = await buffer(client.openBlob({ registry: proxy.host, repository: 'short/blob' }, said)).catch(
      (e: unknown) => e,
    );
    expect(isBaleError(err, 'E_SIZE_MISMATCH'), String(err)).toBe(true);
    expect((err as Error).message).toContain(
      `the registry has ${data.length} bytes of it, the manifest says ${said.size}`,
    );
    await proxy.settled();
    const gets = proxy.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/'));
    expect(gets.map((g) => g.range ?? '')).toEqual(['', `bytes=${data.length}-`]);
  });
});
