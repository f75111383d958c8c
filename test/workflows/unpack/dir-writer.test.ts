/**
 * The --to-dir writer never follows a link someone else planted: the target directory
 * itself may not be (or sit below) a symlink, temporary names are unpredictable and
 * created exclusively without following links, and a link planted at a name that looks
 * like a temporary name is never written through.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../../src/errors.js';
import { ConfinedDirWriter } from '../../../src/workflows/unpack/dir-writer.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const body = Buffer.from('blob bytes\n');
const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;

describe('ConfinedDirWriter and planted links', () => {
  let work: string;
  beforeAll(async () => {
    work = await makeTempDir('bale-dirwriter-');
  });
  afterAll(async () => {
    if (work) await removeTempDir(work);
  });

  it('refuses a target directory that is itself a symlink, writing nothing through it', async () => {
    const outside = join(work, 'outside-root');
    await mkdir(outside);
    const linked = join(work, 'linked-root');
    await symlink(outside, linked);
    const w = new ConfinedDirWriter(linked);
    const err = await w
      .writeFile('v2/a/blobs/x', Readable.from([body]), { size: body.length, digest })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).code).toBe('E_BUNDLE_HOSTILE');
    expect((err as BaleError).message).toContain(linked);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses a target directory below a symlinked parent', async () => {
    const outside = join(work, 'outside-parent');
    await mkdir(outside);
    await symlink(outside, join(work, 'linked-parent'));
    const w = new ConfinedDirWriter(join(work, 'linked-parent', 'mirror'));
    const err = await w
      .writeFile('v2/a/blobs/x', Readable.from([body]), { size: body.length, digest })
      .catch((e: unknown) => e);
    expect((err as BaleError).code).toBe('E_BUNDLE_HOSTILE');
    expect(await readdir(outside)).toEqual([]);
  });

  it('uses an unpredictable, exclusively created temporary name: a link planted at a guessable one is never written through', async () => {
    const root = join(work, 'tmp-names');
    const victim = join(work, 'victim.txt');
    await writeFile(victim, 'do not touch\n');
    const w = new ConfinedDirWriter(root);
    const blobDir = join(root, 'v2', 'a', 'blobs');
    await mkdir(blobDir, { recursive: true });
    // The names an attacker could guess (the old 4-byte suffix space, a fixed suffix).
    for (const guess of ['x.tmp-00000000', 'x.tmp', 'x.tmp-0']) await symlink(victim, join(blobDir, guess));

    // Hold the source open after the first chunk to observe the temporary file in place.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Buffer> {
      yield body.subarray(0, 4);
      await gate;
      yield body.subarray(4);
    }
    const writing = w.writeFile('v2/a/blobs/x', Readable.from(slow()), { size: body.length, digest });
    let temps: string[] = [];
    for (let i = 0; i < 200 && temps.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      temps = (await readdir(blobDir)).filter((n) => /^x\.tmp-[0-9a-f]{24}$/.test(n));
    }
    expect(temps).toHaveLength(1);
    const st = await lstat(join(blobDir, temps[0] ?? ''));
    expect(st.isFile()).toBe(true);
    expect(st.isSymbolicLink()).toBe(false);
    release();
    await writing;

    expect(await readFile(victim, 'utf8')).toBe('do not touch\n');
    expect(await readFile(join(blobDir, 'x'))).toEqual(body);
    expect((await lstat(join(blobDir, 'x'))).isFile()).toBe(true);
    // No temporary file is left behind (the planted guesses are still only links).
    const names = (await readdir(blobDir)).filter((n) => /^x\.tmp-[0-9a-f]{24}$/.test(n));
    expect(names).toEqual([]);
  });

  it('a symlinked directory component inside the target is refused, not followed', async () => {
    const root = join(work, 'component');
    const outside = join(work, 'outside-component');
    await mkdir(outside);
    await mkdir(join(root, 'v2'), { recursive: true });
    await symlink(outside, join(root, 'v2', 'repo'));
    const w = new ConfinedDirWriter(root);
    const err = await w
      .writeFile('v2/repo/blobs/x', Readable.from([body]), { size: body.length, digest })
      .catch((e: unknown) => e);
    expect((err as BaleError).code).toBe('E_BUNDLE_HOSTILE');
    expect((err as BaleError).message).toContain(join(root, 'v2', 'repo'));
    expect(await readdir(outside)).toEqual([]);
  });
});
