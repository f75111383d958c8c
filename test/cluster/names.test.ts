/** DNS-1123 names checked before anything reaches a cluster. */
import { describe, expect, it } from 'vitest';
import {
  isDns1123Label,
  isDns1123Subdomain,
  validateNamespace,
  validateObjectName,
} from '../../src/cluster/names.js';

describe('isDns1123Subdomain / isDns1123Label', () => {
  it.each(['a', '0', 'sha256-abc', 'bale-mirror', 'a-b-c-d', 'x'.repeat(63)])('%s is both', (n) => {
    expect(isDns1123Subdomain(n)).toBe(true);
    expect(isDns1123Label(n)).toBe(true);
  });

  it.each(['', 'A', 'a_b', '-a', 'a-', '.a', 'a.', 'a..b', 'a/b', 'a b', 'ä', 'a\n', '../etc'])(
    '%j is neither',
    (n) => {
      expect(isDns1123Subdomain(n)).toBe(false);
      expect(isDns1123Label(n)).toBe(false);
    },
  );

  it('a subdomain may have dots and 253 characters; a label neither', () => {
    expect(isDns1123Subdomain('a.b')).toBe(true);
    expect(isDns1123Label('a.b')).toBe(false);
    expect(isDns1123Label('x'.repeat(64))).toBe(false);
    const long = `${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(61)}`;
    expect(long).toHaveLength(253);
    expect(isDns1123Subdomain(long)).toBe(true);
    expect(isDns1123Subdomain(`${long}w`)).toBe(false);
  });
});

describe('validateObjectName', () => {
  it('returns a good name', () => {
    expect(validateObjectName('sha256-abc', 'ConfigMap name')).toBe('sha256-abc');
  });

  it('E_USAGE naming what and where, with the rule as hint', () => {
    expect(() => validateObjectName('Bad_Name', 'ConfigMap name', 'signatures/sha256-x.yaml')).toThrow(
      expect.objectContaining({
        code: 'E_USAGE',
        message: 'invalid ConfigMap name "Bad_Name" in signatures/sha256-x.yaml',
        hint: expect.stringContaining('DNS-1123'),
        details: { name: 'Bad_Name', where: 'signatures/sha256-x.yaml' },
      }),
    );
    expect(() => validateObjectName(42, 'object name')).toThrow(
      expect.objectContaining({ message: 'invalid object name "42"', details: { name: 42 } }),
    );
    expect(() => validateObjectName(undefined, 'object name')).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
  });
});

describe('validateNamespace', () => {
  it('returns a good namespace; refuses dots, 64 characters and non-strings', () => {
    expect(validateNamespace('openshift-config-managed')).toBe('openshift-config-managed');
    expect(() => validateNamespace('a.b', '--namespace')).toThrow(
      expect.objectContaining({
        code: 'E_USAGE',
        message: 'invalid namespace "a.b" in --namespace',
        hint: expect.stringContaining('DNS-1123 label'),
        details: { namespace: 'a.b', where: '--namespace' },
      }),
    );
    expect(() => validateNamespace('n'.repeat(64))).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => validateNamespace(null)).toThrow(
      expect.objectContaining({ message: 'invalid namespace "null"' }),
    );
  });
});
