/**
 * withRetry and an abort: no attempt after the signal fired, and a backoff wait (even a
 * long Retry-After) ends at once with the signal's reason.
 */
import { describe, expect, it } from 'vitest';
import { backoffSleep, markTransient, withRetry } from '../../src/registry/retry.js';

describe('withRetry with a signal', () => {
  it('an abort during the backoff wait ends it at once; no further attempt', async () => {
    const ac = new AbortController();
    const reason = new Error('interrupted');
    let attempts = 0;
    const policy = {
      attempts: 5,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      random: () => 1,
      signal: ac.signal,
    };
    const run = withRetry(policy, 'http://x/', 'thing', async () => {
      attempts++;
      setTimeout(() => ac.abort(reason), 50);
      throw markTransient(new Error('busy'), 'HTTP 503', 30_000);
    });
    const started = Date.now();
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(attempts).toBe(1);
  });

  it('a failure after the abort is the abort, never retried', async () => {
    const ac = new AbortController();
    const reason = new Error('interrupted');
    let attempts = 0;
    const run = withRetry(
      { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, signal: ac.signal },
      'http://x/',
      'thing',
      async () => {
        attempts++;
        ac.abort(reason);
        throw markTransient(new Error('connection reset'), 'ECONNRESET');
      },
    );
    await expect(run).rejects.toBe(reason);
    expect(attempts).toBe(1);
  });

  it('without a signal, transient failures are still retried', async () => {
    let attempts = 0;
    const r = await withRetry(
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      'http://x/',
      'thing',
      async () => {
        if (++attempts < 3) throw markTransient(new Error('busy'), 'HTTP 503');
        return 'ok';
      },
    );
    expect(r).toBe('ok');
    expect(attempts).toBe(3);
  });
});

describe('backoffSleep (the wait of the download and chunked-upload retry loops)', () => {
  it('waits the delay when nothing aborts it', async () => {
    const t0 = Date.now();
    await backoffSleep(50, {});
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('an abort during the wait ends it at once with the abort reason', async () => {
    const ac = new AbortController();
    const reason = new Error('interrupted');
    setTimeout(() => ac.abort(reason), 20);
    const t0 = Date.now();
    await expect(backoffSleep(10_000, { signal: ac.signal })).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('an abort before the wait: no wait at all', async () => {
    const ac = new AbortController();
    ac.abort(new Error('already'));
    await expect(backoffSleep(10_000, { signal: ac.signal })).rejects.toThrow('already');
  });
});
