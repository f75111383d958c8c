/**
 * Verify steps 1 and 2 on real files in a temp directory: bundle.json and SHA256SUMS
 * checked against each other, bundle.json.asc against its SHA256SUMS line, and nothing
 * else in the bundle directory.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeIndex, writeBundleIndex } from '../../../src/bundle/bundle-index.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import type { Problem } from '../../../src/bundle/problem.js';
import { formatSha256Sums } from '../../../src/bundle/sha256sums.js';
import { checkDirectory, readBundleFiles } from '../../../src/bundle/verify-steps/bundle-files.js';
import { sha256Hex } from '../../../src/digest.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const VOLUME = { name: 'volume-001.tar.zst', size: 3, sha256: sha256Hex('vol'), entries: 0 };
const INDEX: BundleIndex = {
  schema: 'bale.bundle/v2',
  baleVersion: '0.0.0',
  created: '2026-01-01T00:00:00Z',
  volumeSize: 1 << 20,
  releases: [],
  images: [],
  signatures: [],
  manifests: [],
  volumes: [VOLUME],
  entries: [],
};

let root: string;
beforeAll(async () => {
  root = await makeTempDir('bale-bundle-files-');
});
afterAll(async () => {
  await removeTempDir(root);
});

/** A fresh bundle directory: bundle.json, SHA256SUMS, the (empty) volume, optionally bundle.json.asc. */
async function bundleDir(opts: { asc?: string } = {}): Promise<string> {
  const dir = await mkdtemp(join(root, 'b-'));
  await writeBundleIndex(dir, INDEX, opts.asc === undefined ? {} : { signature: opts.asc });
  await writeFile(join(dir, VOLUME.name), 'vol');
  return dir;
}

async function checkDirectoryProblems(dir: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  await checkDirectory(dir, INDEX, [], (p) => problems.push(p));
  return problems;
}

async function read(
  dir: string,
  wholeBundle = true,
): Promise<{ problems: Problem[]; files: Awaited<ReturnType<typeof readBundleFiles>> }> {
  const problems: Problem[] = [];
  const files = await readBundleFiles(dir, (p) => problems.push(p), { wholeBundle });
  return { problems, files };
}

describe('readBundleFiles', () => {
  it('reads bundle.json and SHA256SUMS that agree', async () => {
    const dir = await bundleDir();
    const { problems, files } = await read(dir);
    expect(problems).toEqual([]);
    expect(files.index?.volumes).toEqual([VOLUME]);
    expect(files.rawIndex?.toString()).toBe(serializeIndex(INDEX));
    expect(files.sums?.get('bundle.json')).toBe(sha256Hex(serializeIndex(INDEX)));
    expect(files.sums?.get(VOLUME.name)).toBe(VOLUME.sha256);
  });

  it('a missing bundle.json: E_BUNDLE_INCOMPLETE saying it is not a bundle', async () => {
    const dir = await bundleDir();
    await rm(join(dir, 'bundle.json'));
    const { problems, files } = await read(dir);
    expect(files.index).toBeUndefined();
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_INCOMPLETE',
        file: 'bundle.json',
        message: 'bundle.json is missing: not a bale bundle, or an incomplete copy',
      },
    ]);
  });

  it('a bundle.json changed after SHA256SUMS was written: E_BUNDLE_CORRUPT with both digests', async () => {
    const dir = await bundleDir();
    const changed = serializeIndex({ ...INDEX, created: '2026-01-02T00:00:00Z' });
    await writeFile(join(dir, 'bundle.json'), changed);
    const { problems } = await read(dir);
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_CORRUPT',
        file: 'bundle.json',
        message: `bundle.json has sha256 ${sha256Hex(changed)}, SHA256SUMS says ${sha256Hex(serializeIndex(INDEX))}: it was changed or damaged`,
      },
    ]);
  });

  it('bundle.json that is not JSON, or not an index: E_BUNDLE_INVALID, still checking SHA256SUMS', async () => {
    const dir = await bundleDir();
    await writeFile(join(dir, 'bundle.json'), '{"schema":');
    const { problems, files } = await read(dir);
    expect(files.rawIndex).toBeDefined();
    expect(files.index).toBeUndefined();
    expect(problems.map((p) => [p.code, p.file])).toEqual([
      ['E_BUNDLE_INVALID', 'bundle.json'],
      ['E_BUNDLE_CORRUPT', 'bundle.json'],
    ]);
    expect(problems[0]?.message).toMatch(/^bundle\.json is not valid JSON/);
  });

  it('bundle.json that is a directory or a symlink is refused without following it', async () => {
    const dir = await bundleDir();
    await rm(join(dir, 'bundle.json'));
    await mkdir(join(dir, 'bundle.json'));
    expect((await read(dir)).problems[0]).toMatchObject({
      code: 'E_BUNDLE_INVALID',
      file: 'bundle.json',
      message: 'bundle.json is not a regular file',
    });
    const dir2 = await bundleDir();
    await rm(join(dir2, 'bundle.json'));
    await symlink('/dev/zero', join(dir2, 'bundle.json'));
    expect((await read(dir2)).problems[0]).toMatchObject({ code: 'E_IO', file: 'bundle.json' });
  });

  it('bundle.json that is a FIFO is refused at once, without blocking on it', async () => {
    const dir = await bundleDir();
    await rm(join(dir, 'bundle.json'));
    await promisify(execFile)('mkfifo', [join(dir, 'bundle.json')]);
    expect((await read(dir)).problems[0]).toMatchObject({
      code: 'E_BUNDLE_INVALID',
      file: 'bundle.json',
      message: 'bundle.json is not a regular file',
    });
    expect(await checkDirectoryProblems(dir)).toEqual([
      { code: 'E_BUNDLE_INVALID', file: 'bundle.json', message: 'bundle.json is not a regular file' },
    ]);
  });

  it('SHA256SUMS that does not list bundle.json: E_BUNDLE_INVALID', async () => {
    const dir = await bundleDir();
    await writeFile(
      join(dir, 'SHA256SUMS'),
      formatSha256Sums([{ name: VOLUME.name, sha256: VOLUME.sha256 }]),
    );
    expect((await read(dir)).problems).toEqual([
      { code: 'E_BUNDLE_INVALID', file: 'SHA256SUMS', message: 'SHA256SUMS does not list bundle.json' },
    ]);
  });

  it('a malformed SHA256SUMS line is reported, the good lines kept', async () => {
    const dir = await bundleDir();
    const good = formatSha256Sums([{ name: 'bundle.json', sha256: sha256Hex(serializeIndex(INDEX)) }]);
    await writeFile(join(dir, 'SHA256SUMS'), `${good}nothex  ../etc/passwd\n`);
    const { problems, files } = await read(dir);
    expect(files.sums?.has('bundle.json')).toBe(true);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'E_BUNDLE_INVALID', file: 'SHA256SUMS' });
    expect(problems[0]?.message).toMatch(/^SHA256SUMS: /);
  });

  it('a missing SHA256SUMS is reported with the file name', async () => {
    const dir = await bundleDir();
    await rm(join(dir, 'SHA256SUMS'));
    const { problems, files } = await read(dir);
    expect(files.sums).toBeUndefined();
    expect(problems).toEqual([expect.objectContaining({ file: 'SHA256SUMS' })]);
  });

  it('SHA256SUMS listing a file bundle.json does not have: E_BUNDLE_INVALID (whole-bundle only)', async () => {
    const dir = await bundleDir();
    const lines = [
      { name: 'bundle.json', sha256: sha256Hex(serializeIndex(INDEX)) },
      { name: VOLUME.name, sha256: VOLUME.sha256 },
      { name: 'volume-002.tar.zst', sha256: '1'.repeat(64) },
    ];
    await writeFile(join(dir, 'SHA256SUMS'), formatSha256Sums(lines));
    expect((await read(dir)).problems).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        file: 'SHA256SUMS',
        message: 'SHA256SUMS lists volume-002.tar.zst, which bundle.json does not have',
      },
    ]);
    expect((await read(dir, false)).problems).toEqual([]);
  });

  it('bundle.json.asc, when SHA256SUMS lists it, must match its line and be there', async () => {
    const dir = await bundleDir({ asc: 'signature text' });
    // pack does not list it; a site may add its line (README "Bundle format").
    expect((await read(dir)).problems).toEqual([]);
    const lines = [
      { name: 'bundle.json', sha256: sha256Hex(serializeIndex(INDEX)) },
      { name: 'bundle.json.asc', sha256: sha256Hex('signature text') },
      { name: VOLUME.name, sha256: VOLUME.sha256 },
    ];
    await writeFile(join(dir, 'SHA256SUMS'), formatSha256Sums(lines));
    expect((await read(dir)).problems).toEqual([]);
    await writeFile(join(dir, 'bundle.json.asc'), 'another signature');
    expect((await read(dir)).problems).toEqual([
      {
        code: 'E_BUNDLE_CORRUPT',
        file: 'bundle.json.asc',
        message: 'bundle.json.asc does not match SHA256SUMS',
      },
    ]);
    await rm(join(dir, 'bundle.json.asc'));
    expect((await read(dir)).problems).toEqual([
      {
        code: 'E_BUNDLE_INCOMPLETE',
        file: 'bundle.json.asc',
        message: 'SHA256SUMS lists bundle.json.asc, which is missing',
      },
    ]);
  });
});

describe('checkDirectory', () => {
  const check = async (
    dir: string,
    index: BundleIndex | undefined,
    ignored: string[] = [],
  ): Promise<Problem[]> => {
    const problems: Problem[] = [];
    await checkDirectory(dir, index, ignored, (p) => problems.push(p));
    return problems;
  };

  it('a bundle directory with only its own files passes', async () => {
    const dir = await bundleDir({ asc: 'x' });
    expect(await check(dir, INDEX)).toEqual([]);
  });

  it('a stray file is E_BUNDLE_INVALID naming it, unless ignored', async () => {
    const dir = await bundleDir();
    await writeFile(join(dir, 'notes.txt'), 'x');
    expect(await check(dir, INDEX)).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        file: 'notes.txt',
        message:
          'notes.txt is not part of the bundle (a bundle holds only bundle.json, SHA256SUMS, bundle.json.asc and its volumes)',
      },
    ]);
    expect(await check(dir, INDEX, ['notes.txt'])).toEqual([]);
  });

  it('a volume the index does not list is stray; without an index any volume name may belong', async () => {
    const dir = await bundleDir();
    await writeFile(join(dir, 'volume-002.tar.zst'), 'x');
    expect((await check(dir, INDEX)).map((p) => p.file)).toEqual(['volume-002.tar.zst']);
    expect(await check(dir, undefined)).toEqual([]);
  });

  it('a bundle file that is a directory or symlink is not a regular file', async () => {
    const dir = await bundleDir();
    await rm(join(dir, VOLUME.name));
    await symlink('/dev/zero', join(dir, VOLUME.name));
    expect(await check(dir, INDEX)).toEqual([
      { code: 'E_BUNDLE_INVALID', file: VOLUME.name, message: `${VOLUME.name} is not a regular file` },
    ]);
  });

  it('a directory that cannot be listed: E_IO naming it', async () => {
    const missing = join(root, 'does-not-exist');
    const problems = await check(missing, INDEX);
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'E_IO',
        message: expect.stringContaining(`cannot list ${missing}`) as string,
      }),
    ]);
  });
});
