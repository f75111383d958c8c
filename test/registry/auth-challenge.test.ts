import { describe, expect, it } from 'vitest';
import {
  challengeScopes,
  parseWwwAuthenticate,
  pickChallenge,
  pullScope,
  pushScope,
} from '../../src/registry/auth-challenge.js';

describe('parseWwwAuthenticate', () => {
  it('parses a distribution Bearer challenge', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:org/repo:pull,push"',
    );
    expect(c).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:org/repo:pull,push',
      },
    });
  });

  it('keeps host:port scope names whole and splits several scopes on spaces only', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://a/t",scope="repository:127.0.0.1:5000/org/repo:pull repository:other:pull,push"',
    );
    expect(challengeScopes(c!)).toEqual([
      'repository:127.0.0.1:5000/org/repo:pull',
      'repository:other:pull,push',
    ]);
  });

  it('handles escapes, spaces, unquoted values and case', () => {
    const [c] = parseWwwAuthenticate(
      'BEARER  Realm = "https://a/t?x=\\"1\\",2" , Service=reg , error="insufficient_scope"',
    );
    expect(c?.scheme).toBe('bearer');
    expect(c?.params).toEqual({ realm: 'https://a/t?x="1",2', service: 'reg', error: 'insufficient_scope' });
  });

  it('parses several challenges in one header and across headers', () => {
    const list = parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="https://a/t",service="s"');
    expect(list.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(list[0]?.params.realm).toBe('Registry Realm');
    expect(pickChallenge(list)?.scheme).toBe('bearer');
    const two = parseWwwAuthenticate(['Negotiate', 'Basic realm="x"']);
    expect(pickChallenge(two)?.scheme).toBe('basic');
  });

  it('survives garbage', () => {
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(pickChallenge(parseWwwAuthenticate('=,,"'))).toBeUndefined();
    const [c] = parseWwwAuthenticate('Bearer realm="unterminated');
    expect(c?.params.realm).toBe('unterminated');
  });

  it('builds scopes', () => {
    expect(pullScope('a/b')).toBe('repository:a/b:pull');
    expect(pushScope('a/b')).toBe('repository:a/b:pull,push');
  });
});
