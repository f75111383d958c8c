/**
 * RegistryClient and the command's AbortSignal: an interrupt ends what the client is
 * doing (a retry wait included) and no request reaches the registry after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { waitFor } from '../helpers/wait.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

describe('RegistryClient with a signal', () => {
  it('an abort during a retry wait (503, Retry-After 30 s) ends it at once, no request after', async () => {
    const proxy = await startFaultProxy('127.0.0.1:9', {
      rules: [{ fault: { kind: 'status', status: 503, retryAfter: 30 } }],
    });
    const ac = new AbortController();
    const client = new RegistryClient({
      tlsVerify: false,
      retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 60_000 },
      signal: ac.signal,
    });
    try {
      const probing = client.getManifest({ registry: proxy.host, repository: 'a/b' }, 'latest');
      await waitFor(() => proxy.log.some((e) => e.done));
      await sleep(200); // now in the 30 s backoff
      const count = proxy.log.length;
      const reason = new Error('interrupted');
      const started = Date.now();
      ac.abort(reason);
      await expect(probing).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1_000);
      await sleep(100);
      expect(proxy.log).toHaveLength(count);
    } finally {
      await client.destroy();
      await proxy.stop();
    }
  });
});
