import { describe, expect, it } from 'vitest';
import { nextLink } from '../../src/registry/client.js';
import { redactUrl } from '../../src/registry/http-error.js';
import { backoffDelay, parseRetryAfter, withRetry, markTransient } from '../../src/registry/retry.js';

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

  it('uses full jitter under an exponential cap', () => {
    const p = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, { ...p, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { ...p, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(10, { ...p, random: () => 0.999 })).toBe(999);
    expect(backoffDelay(10, { ...p, random: () => 0 })).toBe(0);
  });

  it('retries only marked or transient failures', async () => {
    let n = 0;
    const policy = { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 };
    await expect(
      withRetry(policy, 'http://x/', 'thing', async () => {
        n++;
        throw new Error('plain');
      }),
    ).rejects.toThrow('plain');
    expect(n).toBe(1);
    n = 0;
    const r = await withRetry(policy, 'http://x/', 'thing', async () => {
      if (++n < 3) throw markTransient(new Error('busy'), 'HTTP 503');
      return 'ok';
    });
    expect(r).toBe('ok');
    n = 0;
    await expect(
      withRetry(policy, 'http://x/', 'thing', async () => {
        n++;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      }),
    ).rejects.toMatchObject({ code: 'E_RETRIES_EXHAUSTED', details: { attempts: 5, reason: 'ECONNRESET' } });
    expect(n).toBe(5);
  });
});

describe('URL helpers', () => {
  it('follows Link rel="next" relative to the request', () => {
    expect(nextLink('</v2/r/tags/list?n=2&last=b>; rel="next"', 'https://h:5000/v2/r/tags/list?n=2')).toBe(
      'https://h:5000/v2/r/tags/list?n=2&last=b',
    );
    expect(nextLink('<https://o/x>; rel="prev", <https://o/y>; rel=next', 'https://h/')).toBe('https://o/y');
    expect(nextLink(undefined, 'https://h/')).toBeUndefined();
  });

  it('redacts user-info and query strings from URLs', () => {
    expect(redactUrl('https://user:pw@h/v2/x?_state=secret&X-Amz-Signature=s')).toBe('https://h/v2/x');
  });

  it('keeps the path of a request target relative to the registry (retry messages)', () => {
    expect(redactUrl('/v2/ocp/release/blobs/uploads/?mount=sha256:1&from=x')).toBe(
      '/v2/ocp/release/blobs/uploads/',
    );
    expect(redactUrl('/v2/a/manifests/latest')).toBe('/v2/a/manifests/latest');
  });
});
