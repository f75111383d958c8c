/**
 * The cluster files of unpack written into --manifests-to-dir
 * (src/workflows/unpack/manifest-files.ts `writeManifestFiles`): confined to the
 * directory, never through a symbolic link, two files of one name refused. Real files.
 */
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutputFile } from '../../../src/workflows/unpack/cluster-output.js';
import { writeManifestFiles } from '../../../src/workflows/unpack/manifest-files.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const file = (name: string, text = `kind: ConfigMap\nname: ${name}\n`): OutputFile => ({
  file: name,
  source: `signatures/${name}`,
  text,
  objects: [],
  verifiedSignatures: true,
  generated: false,
});

let tmp: string;
beforeEach(async () => {
  tmp = await makeTempDir('bale-manifest-files-');
});
afterEach(async () => {
  await removeTempDir(tmp);
});

describe('writeManifestFiles', () => {
  it('writes each file (making the directory), returns the paths, leaves no temporary file', async () => {
    const dir = join(tmp, 'out/manifests');
    const got = await writeManifestFiles(dir, [file('a.yaml'), file('b.yaml', 'second\n')]);
    expect(got).toEqual({ dir, paths: [join(dir, 'a.yaml'), join(dir, 'b.yaml')] });
    expect((await readdir(dir)).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(await readFile(join(dir, 'b.yaml'), 'utf8')).toBe('second\n');
  });

  it('replaces a file of the same name from an earlier run', async () => {
    await writeFile(join(tmp, 'a.yaml'), 'old');
    await writeManifestFiles(tmp, [file('a.yaml', 'new')]);
    expect(await readFile(join(tmp, 'a.yaml'), 'utf8')).toBe('new');
  });

  it('two files of one name: E_BUNDLE_INVALID naming it', async () => {
    await expect(
      writeManifestFiles(tmp, [file('same.yaml'), file('same.yaml', 'other')]),
    ).rejects.toMatchObject({
      code: 'E_BUNDLE_INVALID',
      message: 'two manifests would be written as same.yaml',
    });
  });

  it.each(['../escape.yaml', 'sub/dir.yaml', '..', ''])(
    'refuses the hostile name %j, writing nothing outside',
    async (name) => {
      const dir = join(tmp, 'm');
      await expect(writeManifestFiles(dir, [file(name)])).rejects.toMatchObject({ code: 'E_BUNDLE_HOSTILE' });
      expect(await readdir(tmp)).toEqual(['m']);
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it('never writes through a symbolic link: a linked directory or a linked file', async () => {
    const elsewhere = join(tmp, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(tmp, 'linked'));
    await expect(writeManifestFiles(join(tmp, 'linked'), [file('a.yaml')])).rejects.toMatchObject({
      code: expect.stringMatching(/^E_/),
    });
    expect(await readdir(elsewhere)).toEqual([]);
    const dir = join(tmp, 'real');
    await mkdir(dir);
    await writeFile(join(elsewhere, 'target'), 'keep');
    await symlink(join(elsewhere, 'target'), join(dir, 'a.yaml'));
    await writeManifestFiles(dir, [file('a.yaml', 'new')]);
    // the link itself is replaced; what it pointed at is untouched
    expect(await readFile(join(elsewhere, 'target'), 'utf8')).toBe('keep');
    expect(await readFile(join(dir, 'a.yaml'), 'utf8')).toBe('new');
  });

  it('a path under a file: E_IO naming it', async () => {
    await writeFile(join(tmp, 'plain'), 'x');
    await expect(writeManifestFiles(join(tmp, 'plain', 'm'), [file('a.yaml')])).rejects.toMatchObject({
      code: expect.stringMatching(/^E_(IO|USAGE)$/),
    });
  });
});
