/** Strings from the media are printed with control characters visible; suggested commands are shell-quoted. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { safeLines, safeText, shellCommand, shellQuote } from '../src/safe-text.js';

const run = promisify(execFile);

describe('safeText', () => {
  it('makes escapes, carriage returns, newlines and bidi overrides visible', () => {
    expect(safeText('4.18.1\u001b[2J\r\nx\u202e')).toBe('4.18.1\\x1b[2J\\x0d\\x0ax\\u202e');
    expect(safeText('plain 4.18.1-x86_64')).toBe('plain 4.18.1-x86_64');
    expect(safeLines('a\n\tb\u0007')).toBe('a\n\tb\\x07');
  });

  it('escapes every C0 and C1 control, DEL, the line separators and every bidi control; nothing else', () => {
    const unsafe = [
      ...Array.from({ length: 0x20 }, (_, i) => i),
      ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
      0x2028,
      0x2029,
      ...Array.from({ length: 5 }, (_, i) => 0x202a + i),
      ...Array.from({ length: 4 }, (_, i) => 0x2066 + i),
    ];
    for (const code of unsafe) {
      const hex = code <= 0xff ? `x${code.toString(16).padStart(2, '0')}` : `u${code.toString(16)}`;
      expect(safeText(`a${String.fromCodePoint(code)}b`), hex).toBe(`a\\${hex}b`);
      if (code !== 0x09 && code !== 0x0a)
        expect(safeLines(`a${String.fromCodePoint(code)}b`), hex).toBe(`a\\${hex}b`);
    }
    // Printable non-ASCII text passes unchanged.
    expect(safeText('café ünïcödé 日本 \u00a0')).toBe('café ünïcödé 日本 \u00a0');
    expect(safeText('')).toBe('');
  });

  it('safeLines keeps tab and newline but not a carriage return (it would overwrite the line)', () => {
    expect(safeLines('line one\r\nline two')).toBe('line one\\x0d\nline two');
    expect(safeText('a\tb')).toBe('a\\x09b');
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest so a shell reads them back unchanged', async () => {
    expect(shellQuote('quay.io/ocp/release@sha256:abc')).toBe('quay.io/ocp/release@sha256:abc');
    for (const word of ["it's $(rm -rf ~)", 'a b;c|d', '`x`', 'file://openshift/release:4.18.1*', '']) {
      const { stdout } = await run('sh', ['-c', `printf '%s' ${shellQuote(word)}`]);
      expect(stdout).toBe(word);
    }
    expect(shellCommand(['oc', 'apply', '-f', '/tmp/my dir'])).toBe("oc apply -f '/tmp/my dir'");
  });

  it('a quoted word with a control character shows it escaped, never raw', () => {
    const q = shellQuote('evil\u001b]0;title\u0007');
    expect(q).toBe("'evil\\x1b]0;title\\x07'");
    expect(shellCommand([])).toBe('');
  });
});
