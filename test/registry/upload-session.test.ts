/**
 * Staged uploads against the real registry: the bytes go up in acknowledged chunks but
 * the blob exists only once completed; a cancelled session is gone; a session an earlier
 * run left (its recorded Location) is continued from where the registry is, sending
 * only the rest; a session the registry forgot starts over. distribution forgets a
 * session whose PATCH was cut in the middle of its body (the bytes it wrote and the
 * offset in the Location disagree), so a run killed mid-chunk starts that blob over.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import type { UploadProgress } from '../../src/registry/upload-session.js';
import { seededBytes } from '../helpers/prng.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { digestOf } from './fake-registry.js';

const KiB = 1024;
let reg: TestRegistry;
let proxy: FaultProxy;
let client: RegistryClient;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(reg.host);
  client = new RegistryClient({
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 10 },
    timeoutMs: 10_000,
    upload: { chunkSize: 64 * KiB },
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await reg?.stop();
});

const exists = async (repository: string, digest: string): Promise<number> =>
  (await fetch(`http://${reg.host}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' })).status;

/** A source that fails after `cut` bytes (a run killed while reading). */
function cutAfter(data: Buffer, cut: number): () => Readable {
  return () =>
    Readable.from(
      (async function* () {
        for (let i = 0; i < cut; i += 16 * KiB) yield data.subarray(i, Math.min(cut, i + 16 * KiB));
        throw new Error('the run was killed');
      })(),
    );
}

describe('staged uploads', () => {
  it('a staged blob exists in the repository only once completed', async () => {
    const data = seededBytes(21, 200 * KiB);
    const desc = { digest: digestOf(data), size: data.length };
    const repo = { registry: proxy.host, repository: 'staged/one' };
    const seen: UploadProgress[] = [];
    const staged = await client.sessions.stage(repo, desc, () => Readable.from([data]), {
      onProgress: (p) => void seen.push(p),
    });
    // Opened (offset 0), then one record per acknowledged chunk: 64, 128, 192, 200 KiB.
    expect(seen.map((p) => p.offset / KiB)).toEqual([0, 64, 128, 192, 200]);
    expect(await exists('staged/one', desc.digest)).toBe(404);
    await client.sessions.complete(repo, desc, staged);
    expect(await exists('staged/one', desc.digest)).toBe(200);
  });

  it('a cancelled session is gone: the registry no longer knows its Location', async () => {
    const data = seededBytes(22, 100 * KiB);
    const desc = { digest: digestOf(data), size: data.length };
    const repo = { registry: proxy.host, repository: 'staged/two' };
    const staged = await client.sessions.stage(repo, desc, () => Readable.from([data]));
    await client.sessions.cancel(repo, desc, staged.location);
    expect((await fetch(staged.location)).status).toBe(404);
    expect(await exists('staged/two', desc.digest)).toBe(404);
  });

  it('continues a session an earlier run left, sending only what the registry lacks', async () => {
    const data = seededBytes(23, 300 * KiB);
    const desc = { digest: digestOf(data), size: data.length };
    const repo = { registry: proxy.host, repository: 'staged/three' };
    let recorded: UploadProgress | undefined;
    // The first run dies after two 64 KiB chunks were acknowledged, before the third sent a byte.
    const first = await client.sessions
      .stage(repo, desc, cutAfter(data, 128 * KiB), { onProgress: (p) => void (recorded = p) })
      .catch((e: unknown) => e);
    expect((first as Error).message).toContain('the run was killed');
    expect(recorded?.offset).toBe(128 * KiB);

    const mark = proxy.log.length;
    let resumedFrom = -1;
    const staged = await client.sessions.stage(repo, desc, () => Readable.from([data]), {
      resume: recorded?.location ?? '',
      onResume: (from) => (resumedFrom = from),
    });
    await client.sessions.complete(repo, desc, staged);
    await proxy.settled();
    expect(resumedFrom).toBe(128 * KiB);
    const rerun = proxy.log.slice(mark);
    expect(rerun.some((l) => l.method === 'POST')).toBe(false);
    const sent = rerun.filter((l) => l.method === 'PATCH').reduce((n, l) => n + l.requestBytes, 0);
    expect(sent).toBe(data.length - 128 * KiB);
    const back = await fetch(`http://${reg.host}/v2/staged/three/blobs/${desc.digest}`);
    expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
  });

  it('a run killed in the middle of a chunk: distribution forgot the session, the blob starts over', async () => {
    const data = seededBytes(24, 300 * KiB);
    const desc = { digest: digestOf(data), size: data.length };
    const repo = { registry: proxy.host, repository: 'staged/four' };
    let recorded: UploadProgress | undefined;
    await client.sessions
      .stage(repo, desc, cutAfter(data, 150 * KiB), { onProgress: (p) => void (recorded = p) })
      .catch(() => undefined);
    expect(recorded?.offset).toBe(128 * KiB);
    let resumedFrom = -1;
    const staged = await client.sessions.stage(repo, desc, () => Readable.from([data]), {
      resume: recorded?.location ?? '',
      onResume: (from) => (resumedFrom = from),
    });
    expect(resumedFrom).toBe(0);
    await client.sessions.complete(repo, desc, staged);
    const back = await fetch(`http://${reg.host}/v2/staged/four/blobs/${desc.digest}`);
    expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
  });
});
