import { describe, expect, it } from 'vitest';
import { EXIT, UsageError, errorJson, exitCodeFor, formatError } from '../../src/cli/errors.js';
import { BaleError } from '../../src/errors.js';

describe('exitCodeFor', () => {
  it('2 for usage, 130/143 for interrupts by signal, 1 for anything else', () => {
    expect(exitCodeFor(new UsageError('bad flag'))).toBe(EXIT.usage);
    expect(exitCodeFor(new BaleError('E_INTERRUPTED', 'stopped', { details: { signal: 'SIGINT' } }))).toBe(
      130,
    );
    expect(exitCodeFor(new BaleError('E_INTERRUPTED', 'stopped', { details: { signal: 'SIGTERM' } }))).toBe(
      143,
    );
    expect(exitCodeFor(new BaleError('E_DIGEST_MISMATCH', 'x'))).toBe(1);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
    expect(exitCodeFor('not even an error')).toBe(1);
  });
});

describe('formatError', () => {
  it('what and where with the code, then the hint on its own line', () => {
    const err = new BaleError('E_BUNDLE_CORRUPT', 'volume-002.tar.zst: is empty', { hint: 'Copy it again.' });
    expect(formatError(err, false)).toBe(
      'bale: error: volume-002.tar.zst: is empty [E_BUNDLE_CORRUPT]\n  Copy it again.\n',
    );
  });

  it('a usage error gets the default hint', () => {
    expect(formatError(new UsageError('--to is required'), false)).toContain(
      'See the --help of the command.',
    );
  });

  it('escapes control characters that came from the media, so they cannot drive the terminal', () => {
    const out = formatError(new BaleError('E_BUNDLE_INVALID', 'entry \x1b]0;pwned\x07 is bad'), false);
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\x07');
    expect(out).toContain('entry');
  });

  it('an unexpected error asks for a report; the stack and causes only with --debug', () => {
    const cause = new Error('root cause');
    const err = new Error('kaboom', { cause });
    const plain = formatError(err, false);
    expect(plain).toContain('bale: error: kaboom');
    expect(plain).toContain('please report it');
    expect(plain).not.toContain('caused by');
    const debug = formatError(err, true);
    expect(debug).toContain('caused by: Error: root cause');
  });

  it('colours only the prefix when asked', () => {
    expect(formatError(new UsageError('x'), false, true).startsWith('\x1b[1;31mbale: error:\x1b[0m x')).toBe(
      true,
    );
  });
});

describe('errorJson', () => {
  it('{ ok: false, error } with the stable code; E_INTERNAL for errors that are not BaleErrors', () => {
    expect(errorJson(new BaleError('E_LOCKED', 'held', { hint: 'wait' }))).toMatchObject({
      ok: false,
      error: { code: 'E_LOCKED', message: 'held', hint: 'wait' },
    });
    expect(errorJson(new Error('oops'))).toEqual({
      ok: false,
      error: { code: 'E_INTERNAL', message: 'oops' },
    });
  });
});
