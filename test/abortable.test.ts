import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortable } from '../src/abortable.js';

describe('abortable', () => {
  it('without a signal is the promise itself', () => {
    const p = Promise.resolve(1);
    expect(abortable(p, undefined)).toBe(p);
  });

  it('settles as the promise does, and leaves no listener on the signal', async () => {
    const c = new AbortController();
    await expect(abortable(Promise.resolve('v'), c.signal)).resolves.toBe('v');
    const boom = new Error('boom');
    await expect(abortable(Promise.reject(boom), c.signal)).rejects.toBe(boom);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
  });

  it("rejects at once with the signal's reason, without waiting for the work", async () => {
    const c = new AbortController();
    const never = new Promise<never>(() => {});
    const p = abortable(never, c.signal);
    const reason = new Error('interrupted');
    setTimeout(() => c.abort(reason), 5);
    await expect(p).rejects.toBe(reason);
  });

  it('rejects with the reason of a signal that had already aborted', async () => {
    const reason = new Error('too late');
    await expect(abortable(new Promise(() => {}), AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
