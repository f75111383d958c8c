/**
 * SHA256SUMS: what bale writes passes `sha256sum -c` (coreutils), and what it reads from
 * the media is parsed strictly, naming the line of every problem.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noise } from '../../fixtures/hostile/valid-bundle.js';
import {
  SUMS_FILE,
  formatSha256Sums,
  hashFile,
  parseSha256Sums,
  readSha256Sums,
  writeSha256Sums,
} from '../../src/bundle/sha256sums.js';
import { sha256Hex } from '../../src/digest.js';

const run = promisify(execFile);
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-sums-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('formatSha256Sums / writeSha256Sums', () => {
  it('one "<hex>  <name>" line per file, sorted by name', () => {
    expect(
      formatSha256Sums([
        { name: 'volume-002.tar.zst', sha256: B },
        { name: 'bundle.json', sha256: A },
      ]),
    ).toBe(`${A}  bundle.json\n${B}  volume-002.tar.zst\n`);
  });

  it('what it writes passes `sha256sum -c` and fails it once a file changes', async () => {
    const d = join(dir, 'coreutils');
    await mkdir(d);
    const files = { 'bundle.json': Buffer.from('{}\n'), 'volume-001.tar.zst': noise(1, 5000) };
    for (const [name, data] of Object.entries(files)) await writeFile(join(d, name), data);
    await writeSha256Sums(
      d,
      Object.entries(files).map(([name, data]) => ({ name, sha256: sha256Hex(data) })),
    );
    const { stdout } = await run('sha256sum', ['-c', SUMS_FILE], { cwd: d });
    expect(stdout).toBe('bundle.json: OK\nvolume-001.tar.zst: OK\n');
    await writeFile(join(d, 'bundle.json'), '{ }\n');
    await expect(run('sha256sum', ['-c', SUMS_FILE], { cwd: d })).rejects.toMatchObject({ code: 1 });
  });
});

describe('parseSha256Sums', () => {
  it('reads text mode and binary mode (`*`) lines and skips empty lines', () => {
    expect(parseSha256Sums(`${A}  bundle.json\n\n${B} *volume-001.tar.zst\n`)).toEqual({
      lines: [
        { name: 'bundle.json', sha256: A },
        { name: 'volume-001.tar.zst', sha256: B },
      ],
      problems: [],
    });
  });

  it('names the line of each malformed entry and keeps the good ones', () => {
    const text = [
      `${A.toUpperCase()}  upper.json`,
      `${A.slice(1)}  short.json`,
      `${A} one-space.json`,
      `${A}  ../escape`,
      `${A}  sub/dir.json`,
      `${A}  -dash.json`,
      `${A}  name\r`,
      `${A}  good.json`,
      `${B}  good.json`,
      `${A}  back\\slash`,
    ].join('\n');
    const r = parseSha256Sums(text);
    expect(r.lines).toEqual([{ name: 'good.json', sha256: A }]);
    expect(r.problems).toEqual([
      'line 1 is not "<sha256>  <name>"',
      'line 2 is not "<sha256>  <name>"',
      'line 3 is not "<sha256>  <name>"',
      'line 4 names "../escape", not a plain file name',
      'line 5 names "sub/dir.json", not a plain file name',
      'line 6 names "-dash.json", not a plain file name',
      'line 7 is not "<sha256>  <name>"', // a CR (a file edited on Windows) is refused too
      'line 9 lists good.json a second time',
      'line 10 names "back\\\\slash", not a plain file name',
    ]);
  });
});

describe('readSha256Sums', () => {
  it('a missing file is E_BUNDLE_INCOMPLETE naming SHA256SUMS', async () => {
    const d = join(dir, 'missing');
    await mkdir(d);
    await expect(readSha256Sums(d)).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
      details: { file: SUMS_FILE },
    });
  });

  it('a file over 1 MiB is refused without being read, naming its size', async () => {
    const d = join(dir, 'huge');
    await mkdir(d);
    await writeFile(join(d, SUMS_FILE), `${A}  bundle.json\n`.repeat(20_000));
    await expect(readSha256Sums(d)).rejects.toMatchObject({
      code: 'E_BUNDLE_INVALID',
      message: expect.stringMatching(/^SHA256SUMS is 1560000 bytes, more than/),
    });
  });

  it('a FIFO at the name is refused at once instead of blocking', async () => {
    const d = join(dir, 'fifo');
    await mkdir(d);
    await run('mkfifo', [join(d, SUMS_FILE)]);
    const started = Date.now();
    await expect(readSha256Sums(d)).rejects.toMatchObject({ code: expect.stringMatching(/^E_/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('hashFile', () => {
  it('size and sha256 as sha256sum computes them, streamed in chunks', async () => {
    const path = join(dir, 'blob');
    const data = noise(2, (3 << 20) + 17);
    await writeFile(path, data);
    let seen = 0;
    const r = await hashFile(path, (n) => (seen += n));
    const { stdout } = await run('sha256sum', [path]);
    expect(r).toEqual({ size: data.length, sha256: stdout.split(' ')[0] });
    expect(seen).toBe(data.length);
  });
});
