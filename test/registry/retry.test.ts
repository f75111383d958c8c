/**
 * withRetry and an abort: no attempt after the signal fired, and a backoff wait (even a
 * long Retry-After) ends at once with the signal's reason.
 */
import { describe, expect, it } from 'vitest';
import { markTransient, withRetry } from '../../src/registry/retry.js';

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
