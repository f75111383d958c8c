/** silentProgress: the Progress a library call gets when nobody listens (--quiet, tests). */
import { describe, expect, it } from 'vitest';
import { silentProgress, type Progress } from '../src/progress.js';

describe('silentProgress', () => {
  it('accepts every call and returns nothing, so workflows can report without checking for a listener', () => {
    const p: Progress = silentProgress;
    expect(p.phase('verify', { bytes: 10, items: 1 })).toBeUndefined();
    expect(p.phase('push')).toBeUndefined();
    expect(p.advance(5)).toBeUndefined();
    expect(p.advance(5, 1)).toBeUndefined();
    expect(p.info('a line')).toBeUndefined();
    expect(p.warn('a warning')).toBeUndefined();
  });

  it('is one shared object with exactly the four Progress methods', () => {
    expect(Object.keys(silentProgress).sort()).toEqual(['advance', 'info', 'phase', 'warn']);
    expect(Object.values(silentProgress).every((f) => typeof f === 'function')).toBe(true);
  });
});
