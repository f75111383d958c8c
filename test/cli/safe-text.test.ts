/** Strings from the media are printed with control characters visible; suggested commands are shell-quoted. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { safeLines, safeText, shellCommand, shellQuote } from '../../src/cli/safe-text.js';

const run = promisify(execFile);

describe('safeText', () => {
  it('makes escapes, carriage returns, newlines and bidi overrides visible', () => {
    expect(safeText('4.18.1\u001b[2J\r\nx\u202e')).toBe('4.18.1\\x1b[2J\\x0d\\x0ax\\u202e');
    expect(safeText('plain 4.18.1-x86_64')).toBe('plain 4.18.1-x86_64');
    expect(safeLines('a\n\tb\u0007')).toBe('a\n\tb\\x07');
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
});
