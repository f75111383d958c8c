/**
 * Bounded retries with exponential backoff and full jitter, honouring Retry-After.
 * A failure is retried only when it was marked transient (retryable HTTP status) or is
 * a transient transport error (reset, refused, timeouts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BaleError, messageOf } from '../errors.js';
import { redactUrl, transientNetworkReason } from './http-error.js';

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry?: (e: { url: string; attempt: number; reason: string; delayMs: number }) => void;
  /** Called once per retry (stats). */
  countRetry?: () => void;
  random?: () => number;
  /** No retry after an abort: the signal's reason is thrown, and the backoff wait ends at once. */
  signal?: AbortSignal;
}

export const DEFAULT_RETRY = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

interface TransientMark {
  reason: string;
  retryAfterMs?: number;
}

const marks = new WeakMap<object, TransientMark>();

/** Marks an error as worth retrying (e.g. an HTTP 503), with the server's Retry-After. */
export function markTransient<E extends object>(err: E, reason: string, retryAfterMs?: number): E {
  marks.set(err, retryAfterMs === undefined ? { reason } : { reason, retryAfterMs });
  return err;
}

/** Why `err` may be retried, or undefined. */
export function transientReason(err: unknown): TransientMark | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const m = marks.get(err);
  if (m !== undefined) return m;
  if (err instanceof BaleError && err.code !== 'E_NETWORK') return undefined;
  const reason = transientNetworkReason(err);
  return reason === undefined ? undefined : { reason };
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Full jitter: uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor((policy.random ?? Math.random)() * cap);
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error, or `attempts` are used
 * up (then E_RETRIES_EXHAUSTED with the last failure as cause). `fn` gets the attempt
 * number (1-based). `url` names the operation in onRetry and the final error.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  url: string,
  what: string,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      policy.signal?.throwIfAborted();
      const t = transientReason(err);
      if (t === undefined) throw err;
      if (attempt >= policy.attempts) throw exhausted(err, t.reason, attempt, url, what);
      let delayMs = backoffDelay(attempt, policy);
      if (t.retryAfterMs !== undefined)
        delayMs = Math.min(Math.max(delayMs, t.retryAfterMs), policy.maxDelayMs);
      policy.countRetry?.();
      policy.onRetry?.({ url: redactUrl(url), attempt, reason: t.reason, delayMs });
      await sleep(delayMs, undefined, policy.signal ? { signal: policy.signal } : {}).catch((e: unknown) => {
        policy.signal?.throwIfAborted();
        throw e;
      });
    }
  }
}

export function exhausted(
  err: unknown,
  reason: string,
  attempts: number,
  url: string,
  what: string,
): BaleError {
  const last = err instanceof BaleError ? err : undefined;
  return new BaleError(
    'E_RETRIES_EXHAUSTED',
    `${what}: gave up after ${attempts} attempts (last: ${reason}: ${messageOf(err)})`,
    {
      hint: 'The registry or the network kept failing; try again later or raise the retry limit.',
      cause: err,
      details: {
        url: redactUrl(url),
        attempts,
        reason,
        ...(last?.details.status !== undefined ? { status: last.details.status } : {}),
        ...(last !== undefined ? { lastCode: last.code } : {}),
      },
    },
  );
}
