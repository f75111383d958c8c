/** BaleError: a stable code, a message, a hint, details for --json, and the cause kept. */
import { describe, expect, it } from 'vitest';
import { BaleError, isBaleError, messageOf } from '../src/errors.js';

describe('BaleError', () => {
  it('carries code, message, hint, details and cause', () => {
    const cause = new Error('ECONNRESET');
    const e = new BaleError('E_NETWORK', 'GET https://r.example/v2/ failed', {
      hint: 'Check the network.',
      cause,
      details: { url: 'https://r.example/v2/', status: 502 },
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('BaleError');
    expect(e.code).toBe('E_NETWORK');
    expect(e.message).toBe('GET https://r.example/v2/ failed');
    expect(e.hint).toBe('Check the network.');
    expect(e.details).toEqual({ url: 'https://r.example/v2/', status: 502 });
    expect(e.cause).toBe(cause);
    expect(e.stack).toContain('BaleError');
  });

  it('has no cause, no hint and empty details unless given', () => {
    const e = new BaleError('E_USAGE', 'bad');
    expect('cause' in e).toBe(false);
    expect(e.hint).toBeUndefined();
    expect(e.details).toEqual({});
  });

  it('serializes for --json as code, message, hint and the details flat', () => {
    const e = new BaleError('E_BUNDLE_CORRUPT', 'volume-001.tar.zst is damaged', {
      hint: 'Copy it again.',
      details: { volume: 'volume-001.tar.zst' },
    });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'E_BUNDLE_CORRUPT',
      message: 'volume-001.tar.zst is damaged',
      hint: 'Copy it again.',
      volume: 'volume-001.tar.zst',
    });
  });

  it('the JSON starts with the code and message, then the hint, then the details', () => {
    const e = new BaleError('E_IO', 'real', { details: { path: 'x', errno: 'EIO' } });
    expect(Object.keys(e.toJSON())).toEqual(['code', 'message', 'hint', 'path', 'errno']);
  });
});

describe('isBaleError', () => {
  it('is true for a BaleError, and with a code only for that code', () => {
    const e = new BaleError('E_NOT_FOUND', 'gone');
    expect(isBaleError(e)).toBe(true);
    expect(isBaleError(e, 'E_NOT_FOUND')).toBe(true);
    expect(isBaleError(e, 'E_IO')).toBe(false);
    expect(isBaleError(new Error('x'))).toBe(false);
    expect(isBaleError({ code: 'E_NOT_FOUND', message: 'lookalike' }, 'E_NOT_FOUND')).toBe(false);
    expect(isBaleError(undefined)).toBe(false);
  });
});

describe('messageOf', () => {
  it('is the message of an Error and the string of anything else', () => {
    expect(messageOf(new TypeError('boom'))).toBe('boom');
    expect(messageOf(new BaleError('E_IO', 'io'))).toBe('io');
    expect(messageOf('plain')).toBe('plain');
    expect(messageOf(42)).toBe('42');
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf(null)).toBe('null');
  });
});
