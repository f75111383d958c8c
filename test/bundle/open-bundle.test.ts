/**
 * openBundle: the one way to open a bundle. The index it hands out is the one on disk
 * and vouched for by SHA256SUMS; its readers give every entry's bytes as the index
 * records them (split entries joined); and each way bundle.json or its seal can be
 * wrong is refused with a stable code before anything else is read.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { INDEX_FILE } from '../../src/bundle/bundle-index.js';
import { expectedEntries } from '../../src/bundle/expected-entries.js';
import { openBundle, volumesOf } from '../../src/bundle/open-bundle.js';
import { SUMS_FILE } from '../../src/bundle/sha256sums.js';
import { sha256Hex } from '../../src/digest.js';
import { removeDir, reseal } from '../../fixtures/hostile/damage.js';
import { buildValidBundle, makeSigningKey, type ValidBundle } from '../../fixtures/hostile/valid-bundle.js';

const run = promisify(execFile);
let root: string;
let pristine: ValidBundle;
let copies = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-open-'));
  // Small volumes and a layer larger than one: some entries are split across volumes.
  pristine = await buildValidBundle(join(root, 'pristine'), await makeSigningKey(), {
    volumeSize: 24 * 1024,
    layerSize: 40 * 1024,
    level: 1,
  });
}, 60_000);

afterAll(async () => {
  await removeDir(root);
});

async function copy(): Promise<string> {
  const dir = join(root, `copy-${++copies}`);
  await cp(pristine.dir, dir, { recursive: true });
  return dir;
}

describe('a valid bundle', () => {
  test('gives the index as on disk, its raw bytes, the sums and the volumes in order', async () => {
    const b = await openBundle(pristine.dir);
    const raw = await readFile(join(pristine.dir, INDEX_FILE));
    expect(b.rawIndex.equals(raw)).toBe(true);
    expect(b.index).toEqual(pristine.index);
    expect(b.sums?.get(INDEX_FILE)).toBe(sha256Hex(raw));
    expect(b.volumes).toEqual(pristine.index.volumes.map((v) => v.name));
    expect(b.volumes.length).toBeGreaterThanOrEqual(3);
    expect(b.volumePath(b.volumes[0] ?? '')).toBe(join(pristine.dir, b.volumes[0] ?? ''));
  });

  test('readVolume hands over every entry of each volume, checked', async () => {
    const b = await openBundle(pristine.dir);
    for (const name of b.volumes) {
      const seen: string[] = [];
      const result = await b.readVolume(name, {
        onEntry: async (e, content) => {
          seen.push(e.path);
          if (content) for await (const _ of content) void _;
        },
      });
      expect(result.aborted).toBe(false);
      expect(seen).toEqual(expectedEntries(b.index, name).map((e) => e.path));
    }
  });

  test('openEntry gives each file entry the bytes its sha256 names, split entries joined', async () => {
    const b = await openBundle(pristine.dir);
    const files = b.index.entries.filter((e) => e.type === 'file');
    expect(files.some((e) => (e.parts?.length ?? 0) > 1)).toBe(true);
    for (const e of files) {
      const bytes = await buffer(b.openEntry(e));
      expect(bytes.length, e.path).toBe(e.size);
      expect(sha256Hex(bytes), e.path).toBe(e.sha256);
    }
  });

  test('volumesHolding names the volumes of the given entries, split ones in full, in bundle order', async () => {
    const b = await openBundle(pristine.dir);
    const split = b.index.entries.find((e) => (e.parts?.length ?? 0) > 1);
    if (split === undefined) throw new Error('the fixture has no split entry');
    expect(b.volumesHolding([split.path])).toEqual(volumesOf(split));
    expect(b.volumesHolding([])).toEqual([]);
    const all = b.index.entries.map((e) => e.path);
    expect(b.volumesHolding(all)).toEqual(b.volumes);
  });

  test('an aborted signal stops readVolume and openEntry with its reason', async () => {
    const b = await openBundle(pristine.dir);
    const ac = new AbortController();
    const reason = new Error('stop here');
    ac.abort(reason);
    await expect(b.readVolume(b.volumes[0] ?? '', { signal: ac.signal })).rejects.toBe(reason);
    const first = b.index.entries.find((e) => e.type === 'file');
    if (first === undefined) throw new Error('no file entry');
    await expect(buffer(b.openEntry(first, { signal: ac.signal }))).rejects.toBe(reason);
  });

  test('an abort during a read stops it before the next entry', async () => {
    const b = await openBundle(pristine.dir);
    const ac = new AbortController();
    const reason = new Error('interrupted');
    const seen: string[] = [];
    const name = b.volumes[0] ?? '';
    const read = b.readVolume(name, {
      signal: ac.signal,
      onEntry: async (e, content) => {
        seen.push(e.path);
        ac.abort(reason);
        if (content) for await (const _ of content) void _;
      },
    });
    await expect(read).rejects.toBe(reason);
    expect(expectedEntries(b.index, name).length).toBeGreaterThan(1);
    expect(seen).toHaveLength(1);
  });
});

describe('refusals', () => {
  test('no bundle.json: E_BUNDLE_INCOMPLETE naming it', async () => {
    const dir = await copy();
    await rm(join(dir, INDEX_FILE));
    await expect(openBundle(dir)).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
      message: expect.stringContaining(join(dir, INDEX_FILE)) as unknown,
    });
  });

  test('no SHA256SUMS: E_BUNDLE_INCOMPLETE', async () => {
    const dir = await copy();
    await rm(join(dir, SUMS_FILE));
    await expect(openBundle(dir)).rejects.toMatchObject({ code: 'E_BUNDLE_INCOMPLETE' });
  });

  test('SHA256SUMS without a bundle.json line: E_BUNDLE_INVALID', async () => {
    const dir = await copy();
    const sums = await readFile(join(dir, SUMS_FILE), 'utf8');
    const kept = sums.split('\n').filter((l) => !l.endsWith(`  ${INDEX_FILE}`));
    expect(kept.length).toBeLessThan(sums.split('\n').length);
    await writeFile(join(dir, SUMS_FILE), kept.join('\n'));
    await expect(openBundle(dir)).rejects.toMatchObject({
      code: 'E_BUNDLE_INVALID',
      message: expect.stringContaining(`does not list ${INDEX_FILE}`) as unknown,
    });
  });

  test('bundle.json changed after sealing (its SHA256SUMS line no longer matches): E_BUNDLE_CORRUPT', async () => {
    const dir = await copy();
    const index = structuredClone(pristine.index);
    index.created = '2030-01-01T00:00:00.000Z';
    await writeFile(join(dir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    await expect(openBundle(dir)).rejects.toMatchObject({
      code: 'E_BUNDLE_CORRUPT',
      message: expect.stringMatching(/does not match its checksum in SHA256SUMS/) as unknown,
      details: { file: INDEX_FILE },
    });
  });

  test('the SHA256SUMS line altered instead: E_BUNDLE_CORRUPT as well', async () => {
    const dir = await copy();
    const sums = await readFile(join(dir, SUMS_FILE), 'utf8');
    const altered = sums.replace(/^[0-9a-f]{64}(?= {2}bundle\.json$)/m, '0'.repeat(64));
    expect(altered).not.toBe(sums);
    await writeFile(join(dir, SUMS_FILE), altered);
    await expect(openBundle(dir)).rejects.toMatchObject({ code: 'E_BUNDLE_CORRUPT' });
  });

  test('a resealed bundle.json that is not a valid index: E_BUNDLE_INVALID', async () => {
    const dir = await copy();
    await reseal(dir, '{"schema": "bale.bundle/v2"}\n');
    await expect(openBundle(dir)).rejects.toMatchObject({ code: 'E_BUNDLE_INVALID' });
  });

  test('a symlink at bundle.json (to a valid copy) is refused, not followed: E_IO naming the link', async () => {
    const dir = await copy();
    await cp(join(dir, INDEX_FILE), join(root, `elsewhere-${copies}.json`));
    await rm(join(dir, INDEX_FILE));
    await symlink(join(root, `elsewhere-${copies}.json`), join(dir, INDEX_FILE));
    await expect(openBundle(dir)).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining('ELOOP') as unknown,
    });
  });

  test('a FIFO at bundle.json is refused at once, without blocking: E_BUNDLE_INVALID', async () => {
    const dir = await copy();
    await rm(join(dir, INDEX_FILE));
    await run('mkfifo', [join(dir, INDEX_FILE)]);
    const started = Date.now();
    await expect(openBundle(dir)).rejects.toMatchObject({
      code: 'E_BUNDLE_INVALID',
      message: expect.stringContaining('not a regular file') as unknown,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
