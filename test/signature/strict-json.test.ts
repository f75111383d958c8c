import { describe, expect, it } from 'vitest';
import { parseStrictJson } from '../../src/signature/strict-json.js';

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses', () => {
    const samples = [
      '{}',
      '[]',
      ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"], "b": {"c": {}}} ',
      '"str"',
      '0',
      '[[[]]]',
    ];
    for (const s of samples) expect(parseStrictJson(s)).toEqual(JSON.parse(s));
  });

  it('rejects duplicate keys at any depth', () => {
    expect(() => parseStrictJson('{"a":1,"a":2}')).toThrow(/duplicate key "a"/);
    expect(() => parseStrictJson('{"x":[{"b":1,"b":1}]}')).toThrow(/duplicate key "b"/);
    // escapes that spell the same key are the same key
    expect(() => parseStrictJson('{"a":1,"\\u0061":2}')).toThrow(/duplicate key/);
  });

  it('rejects what JSON forbids', () => {
    for (const s of ['{a:1}', "{'a':1}", '[1,]', '{"a":1,}', '01', '"\t"', 'NaN', '1 2', '{"a" 1}', '']) {
      expect(() => parseStrictJson(s), s).toThrow();
    }
  });

  it('does not let "__proto__" change the prototype', () => {
    const v = parseStrictJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects absurd nesting', () => {
    expect(() => parseStrictJson('['.repeat(100) + ']'.repeat(100))).toThrow(/nesting too deep/);
  });
});
