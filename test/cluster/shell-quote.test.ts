/**
 * POSIX shell quoting of the commands bale prints: each word must reach the program
 * exactly as given, checked by running the quoted text through a real /bin/sh in a
 * directory full of files a stray glob would match.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../../src/cluster/shell-quote.js';
import { mulberry32 } from '../helpers/prng.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-shell-quote-');
  // Files a shell would glob `file://openshift/release:4.18.1*`, `*` or `?` against.
  await mkdir(join(dir, 'file:'), { recursive: true });
  for (const f of ['4.18.1-x86_64', 'a b', 'x', 'a', '-n']) await writeFile(join(dir, f), '');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** The argv a POSIX shell builds from `text` (printf in place of the program). */
async function argvThroughShell(text: string): Promise<string[]> {
  const { stdout } = await run('/bin/sh', ['-c', `printf '%s\\0' ${text}`], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', IFS: ' \t\n' },
  });
  return stdout.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it.each([
    ['plain', 'plain'],
    ['--from-dir=/a/b', '--from-dir=/a/b'],
    ['--keep-manifest-list=true', '--keep-manifest-list=true'],
    ['quay.io/ocp/release@sha256:abc', 'quay.io/ocp/release@sha256:abc'],
    ['', "''"],
    ['a b', "'a b'"],
    ['4.18.1*', "'4.18.1*'"],
    ["it's", "'it'\\''s'"],
    ["'", "''\\'''"],
    ['$(reboot)', "'$(reboot)'"],
    ['$HOME', "'$HOME'"],
    ['`x`', "'`x`'"],
    ['a;b', "'a;b'"],
    ['a&b|c', "'a&b|c'"],
    ['~root', "'~root'"],
    ['[ab]', "'[ab]'"],
    ['x?', "'x?'"],
    ['{a,b}', "'{a,b}'"],
    ['!1', "'!1'"],
    ['#c', "'#c'"],
    ['a\nb', "'a\nb'"],
  ])('quotes %j as %s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });

  it('round-trips hostile words through /bin/sh', async () => {
    const words = [
      "it's",
      '$(echo pwned)',
      '`id`',
      'a\nb',
      '*',
      '?',
      'file://openshift/release:4.18.1*',
      '"dq"',
      '\\',
      'tab\there',
      '-n',
      '',
      "''",
      "'\\''",
      '${IFS}',
      'a b',
      '~',
      '\u202e4.18',
    ];
    expect(await argvThroughShell(shellJoin(words))).toEqual(words);
  });

  it('round-trips seeded random words of every character 1..255, one at a time and joined', async () => {
    const rand = mulberry32(13);
    const words: string[] = [];
    for (let i = 0; i < 60; i++) {
      const len = Math.floor(rand() * 12);
      let w = '';
      for (let k = 0; k < len; k++) w += String.fromCharCode(1 + Math.floor(rand() * 255));
      words.push(w);
    }
    // every character 1..255 (UTF-8 on the command line) comes back as itself
    expect(await argvThroughShell(shellJoin(words))).toEqual(words);
    for (const w of words.slice(0, 10)) expect(await argvThroughShell(shellQuote(w))).toEqual([w]);
  });
});

describe('shellJoin', () => {
  it('quotes each word and joins with single spaces; nothing for no words', () => {
    expect(shellJoin(['oc', 'image', 'mirror', '--from-dir=/a', 'x y', "it's"])).toBe(
      "oc image mirror --from-dir=/a 'x y' 'it'\\''s'",
    );
    expect(shellJoin([])).toBe('');
  });
});
