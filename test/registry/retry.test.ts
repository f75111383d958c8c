/** Bounded retries: what is retried, how long it waits, and what it says when it gives up. */
import { describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import {
  backoffDelay,
  backoffSleep,
  exhausted,
  markTransient,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  transientReason,
  withRetry,
} from '../../src/registry/retry.js';

const fast = { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 };

describe('Retry-After and backoff', () => {
  it('parses seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('takes the first of repeated Retry-After headers; never waits a negative time', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
    // Not delta-seconds: Date.parse reads these as dates long past, so no wait.
    expect(parseRetryAfter('-5', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(0);
  });

  it('uses full jitter under an exponential cap', () => {
    const p = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, { ...p, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { ...p, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(10, { ...p, random: () => 0.999 })).toBe(999);
    expect(backoffDelay(10, { ...p, random: () => 0 })).toBe(0);
    expect(backoffDelay(0, { ...p, random: () => 0.999 })).toBe(99);
  });

  it('retries the statuses a registry uses for "try again", and no others', () => {
    expect([...RETRYABLE_STATUSES].sort()).toEqual([408, 429, 500, 502, 503, 504]);
  });
});

describe('transientReason', () => {
  it('knows marked errors, transport codes (also in a cause chain) and nothing else', () => {
    expect(transientReason(markTransient(new Error('x'), 'HTTP 503', 10))).toEqual({
      reason: 'HTTP 503',
      retryAfterMs: 10,
    });
    expect(transientReason(Object.assign(new Error('r'), { code: 'ECONNRESET' }))).toEqual({
      reason: 'ECONNRESET',
    });
    const wrapped = new BaleError('E_NETWORK', 'cannot reach', {
      cause: Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    });
    expect(transientReason(wrapped)).toEqual({ reason: 'UND_ERR_HEADERS_TIMEOUT' });
    // A BaleError other than E_NETWORK is final even when its cause looks transient.
    const final = new BaleError('E_DIGEST_MISMATCH', 'bad', {
      cause: Object.assign(new Error('r'), { code: 'ECONNRESET' }),
    });
    expect(transientReason(final)).toBeUndefined();
    expect(transientReason(Object.assign(new Error('n'), { code: 'ENOENT' }))).toBeUndefined();
    expect(transientReason('ECONNRESET')).toBeUndefined();
    expect(transientReason(null)).toBeUndefined();
  });
});

describe('withRetry', () => {
  it('retries only marked or transient failures', async () => {
    let n = 0;
    await expect(
      withRetry(fast, 'http://x/', 'thing', async () => {
        n++;
        throw new Error('plain');
      }),
    ).rejects.toThrow('plain');
    expect(n).toBe(1);
    n = 0;
    const r = await withRetry(fast, 'http://x/', 'thing', async () => {
      if (++n < 3) throw markTransient(new Error('busy'), 'HTTP 503');
      return 'ok';
    });
    expect(r).toBe('ok');
    n = 0;
    await expect(
      withRetry(fast, 'http://x/', 'thing', async () => {
        n++;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      }),
    ).rejects.toMatchObject({ code: 'E_RETRIES_EXHAUSTED', details: { attempts: 5, reason: 'ECONNRESET' } });
    expect(n).toBe(5);
  });

  it('passes the 1-based attempt number, counts retries and reports them without credentials', async () => {
    const seen: number[] = [];
    const reports: { url: string; attempt: number; reason: string; delayMs: number }[] = [];
    let counted = 0;
    const policy = {
      ...fast,
      attempts: 3,
      countRetry: () => void counted++,
      onRetry: (e: (typeof reports)[number]) => void reports.push(e),
    };
    await withRetry(policy, 'https://u:secret@h/v2/x?_state=s', 'thing', async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw markTransient(new Error('busy'), 'HTTP 429');
      return attempt;
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(counted).toBe(2);
    expect(reports.map((r) => [r.url, r.attempt, r.reason])).toEqual([
      ['https://h/v2/x', 1, 'HTTP 429'],
      ['https://h/v2/x', 2, 'HTTP 429'],
    ]);
  });

  it('waits at least Retry-After, but never longer than maxDelayMs', async () => {
    const delays: number[] = [];
    const run = (retryAfterMs: number, maxDelayMs: number) =>
      withRetry(
        { attempts: 2, baseDelayMs: 1, maxDelayMs, random: () => 0, onRetry: (e) => delays.push(e.delayMs) },
        'http://x/',
        'thing',
        async (attempt) => {
          if (attempt === 1) throw markTransient(new Error('busy'), 'HTTP 503', retryAfterMs);
          return attempt;
        },
      );
    await run(40, 1000);
    await run(60_000, 30);
    expect(delays).toEqual([40, 30]);
    // and the wait happens: 40 ms is observable
    const t0 = Date.now();
    await run(40, 1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it('attempts: 1 means no retry at all', async () => {
    let n = 0;
    await expect(
      withRetry({ ...fast, attempts: 1 }, 'http://x/', 'thing', async () => {
        n++;
        throw markTransient(new Error('busy'), 'HTTP 503');
      }),
    ).rejects.toMatchObject({ code: 'E_RETRIES_EXHAUSTED', details: { attempts: 1 } });
    expect(n).toBe(1);
  });
});

describe('exhausted', () => {
  it('names the operation, the attempts and the last failure; keeps its status and code, not credentials', () => {
    const last = new BaleError('E_HTTP', 'GET blob failed with HTTP 503', { details: { status: 503 } });
    const e = exhausted(
      last,
      'HTTP 503',
      4,
      'https://u:pw@reg:5000/v2/a/blobs/sha256:1?sig=x',
      'blob sha256:1 in reg/a',
    );
    expect(e.code).toBe('E_RETRIES_EXHAUSTED');
    expect(e.message).toBe(
      'blob sha256:1 in reg/a: gave up after 4 attempts (last: HTTP 503: GET blob failed with HTTP 503)',
    );
    expect(e.hint).toMatch(/try again later/);
    expect(e.cause).toBe(last);
    expect(e.details).toEqual({
      url: 'https://reg:5000/v2/a/blobs/sha256:1',
      attempts: 4,
      reason: 'HTTP 503',
      status: 503,
      lastCode: 'E_HTTP',
    });
    expect(JSON.stringify(e.details)).not.toContain('pw');
    const plain = exhausted(new Error('socket hang up'), 'ECONNRESET', 2, 'http://h/', 'probe h');
    expect(plain.details).toEqual({ url: 'http://h/', attempts: 2, reason: 'ECONNRESET' });
  });
});

// An abort (from main): no attempt after the signal fired, and a backoff wait ends at once.
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
