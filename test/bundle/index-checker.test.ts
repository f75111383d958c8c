/**
 * The typed field checks bundle.json validation is built from (index-checker.ts): each
 * records "<where> <what is wrong>" and returns the value only when it is well formed.
 */
import { describe, expect, it } from 'vitest';
import { checker, isObj } from '../../src/bundle/index-checker.js';

describe('checker', () => {
  it('records each malformed field with where it is, and passes well-formed ones', () => {
    const problems: string[] = [];
    const c = checker(problems);
    const o = c.obj({ name: 'x', size: 3, extra: true }, 'volumes[0]', ['name', 'size']);
    expect(o).toBeDefined();
    expect(c.obj([], 'volumes[1]', [])).toBeUndefined();
    expect(c.str({ s: 'ok' }, 's', 'w')).toBe('ok');
    expect(c.str({ s: '' }, 's', 'w')).toBeUndefined();
    expect(c.str({}, 's', 'w', true)).toBeUndefined();
    expect(c.int({ n: 7 }, 'n', 'w')).toBe(7);
    expect(c.int({ n: -1 }, 'n', 'w')).toBeUndefined();
    expect(c.int({ n: 2 ** 60 }, 'n', 'w')).toBeUndefined();
    c.digest({ d: `sha256:${'a'.repeat(64)}` }, 'd', 'w');
    c.digest({ d: 'sha256:nope' }, 'd', 'w');
    c.digest({}, 'd', 'w', true);
    c.hex({ h: 'A'.repeat(64) }, 'h', 'w');
    expect(c.arr({ a: [1] }, 'a', 'w')).toEqual([1]);
    expect(c.arr({ a: 'x' }, 'a', 'w')).toEqual([]);
    expect(c.arr({}, 'a', 'w', true)).toEqual([]);
    c.repo({ r: 'openshift/release' }, 'r', 'w');
    c.repo({ r: 'Upper/Case' }, 'r', 'w');
    c.bad('schema', 'must be "x"');
    expect(problems).toEqual([
      'volumes[0] has unknown field "extra"',
      'volumes[1] is not an object',
      'w.s must be a non-empty string',
      'w.n must be a non-negative integer',
      'w.n must be a non-negative integer',
      'w.d must be a sha256:<64 hex> digest',
      'w.h must be 64 lowercase hex characters',
      'w.a must be an array',
      'w.r must be a repository path (lowercase components)',
      'schema must be "x"',
    ]);
  });

  it('isObj: a plain object, not an array or null', () => {
    expect(isObj({})).toBe(true);
    expect(isObj([])).toBe(false);
    expect(isObj(null)).toBe(false);
    expect(isObj('x')).toBe(false);
  });
});
