/**
 * bundle.json on disk: written in a fixed key order (temp name, rename) with SHA256SUMS
 * and an optional bundle.json.asc, read back strictly (through openBundle), and every way a hostile or
 * damaged bundle.json is refused (missing, a directory, too large, not UTF-8, not JSON,
 * not an index). Real files in a temp directory.
 */
import { mkdir, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INDEX_FILE,
  MAX_INDEX_BYTES,
  parseIndex,
  serializeIndex,
  writeBundleIndex,
  writeIndex,
} from '../../src/bundle/bundle-index.js';
import type { BundleIndex } from '../../src/bundle/index-schema.js';
import { openBundle } from '../../src/bundle/open-bundle.js';
import { sha256Hex } from '../../src/digest.js';
import { BaleError, isBaleError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const REL = {
  version: '4.18.1',
  architecture: 'x86_64',
  digest: `sha256:${'c'.repeat(64)}`,
  source: 'quay.io/openshift-release-dev/ocp-release',
  repository: 'openshift/release',
  tag: '4.18.1-x86_64',
};
const INDEX: BundleIndex = {
  schema: 'bale.bundle/v2',
  baleVersion: '0.0.0-test',
  created: '2026-01-01T00:00:00.000Z',
  volumeSize: 1 << 20,
  releases: [REL],
  images: [],
  signatures: [],
  manifests: [],
  volumes: [{ name: 'volume-001.tar.zst', size: 100, sha256: 'a'.repeat(64), entries: 0 }],
  entries: [],
};

let root: string;
beforeAll(async () => {
  root = await makeTempDir('bale-bundle-index-');
});
afterAll(async () => {
  await removeTempDir(root);
});
const fresh = (): Promise<string> => mkdtemp(join(root, 'd-'));

async function caught(p: Promise<unknown>): Promise<BaleError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BaleError) return err;
    throw err;
  }
  throw new Error('expected a BaleError');
}

describe('serializeIndex', () => {
  it('writes keys in a fixed order whatever order the object has, 2-space indent, trailing newline', () => {
    const shuffled = Object.fromEntries(Object.entries(INDEX).reverse()) as unknown as BundleIndex;
    const rel = Object.fromEntries(Object.entries(REL).reverse()) as typeof REL;
    const text = serializeIndex({ ...shuffled, releases: [rel] });
    expect(text).toBe(serializeIndex(INDEX));
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text) as object).slice(0, 4)).toEqual([
      'schema',
      'baleVersion',
      'created',
      'volumeSize',
    ]);
    expect(text).toContain('\n  "releases": [\n    {\n      "version": "4.18.1",');
  });

  it('round-trips through parseIndex', () => {
    expect(parseIndex(serializeIndex(INDEX))).toEqual(INDEX);
  });
});

describe('writeIndex / writeBundleIndex', () => {
  it('writes bundle.json and SHA256SUMS over it and every volume; returns its size and sha256', async () => {
    const dir = await fresh();
    const written = await writeBundleIndex(dir, INDEX);
    const text = await readFile(join(dir, INDEX_FILE), 'utf8');
    expect(text).toBe(serializeIndex(INDEX));
    expect(written).toEqual({ size: Buffer.byteLength(text), sha256: sha256Hex(text) });
    expect(await readFile(join(dir, 'SHA256SUMS'), 'utf8')).toBe(
      `${sha256Hex(text)}  bundle.json\n${'a'.repeat(64)}  volume-001.tar.zst\n`,
    );
    await expect(readFile(join(dir, 'bundle.json.asc'))).rejects.toThrow(/ENOENT/);
  });

  it('writes bundle.json.asc when given a signature', async () => {
    const dir = await fresh();
    await writeBundleIndex(dir, INDEX, { signature: '-----BEGIN PGP SIGNATURE-----\n' });
    expect(await readFile(join(dir, 'bundle.json.asc'), 'utf8')).toBe('-----BEGIN PGP SIGNATURE-----\n');
  });

  it('refuses to write an invalid index, naming the problem, and writes nothing', async () => {
    const dir = await fresh();
    const err = await caught(writeIndex(dir, { ...INDEX, volumeSize: -1 }));
    expect(err.code).toBe('E_BUNDLE_INVALID');
    expect(err.message).toMatch(/^refusing to write an invalid bundle\.json: .*volumeSize/);
    await expect(readFile(join(dir, INDEX_FILE))).rejects.toThrow(/ENOENT/);
  });
});

describe('reading back through openBundle (the one reader of bundle.json)', () => {
  it('reads back what was written, vouched for by the SHA256SUMS written with it', async () => {
    const dir = await fresh();
    await writeBundleIndex(dir, INDEX);
    expect((await openBundle(dir)).index).toEqual(INDEX);
  });

  it('no bundle.json: E_BUNDLE_INCOMPLETE naming the path, with a hint where to point bale', async () => {
    const dir = await fresh();
    const err = await caught(openBundle(dir));
    expect(err.code).toBe('E_BUNDLE_INCOMPLETE');
    expect(err.message).toContain(join(dir, INDEX_FILE));
    expect(err.hint).toMatch(/directory that holds bundle\.json, SHA256SUMS and the volumes/);
  });

  it('bundle.json that is a directory: E_BUNDLE_INVALID', async () => {
    const dir = await fresh();
    await mkdir(join(dir, INDEX_FILE));
    const err = await caught(openBundle(dir));
    expect(err.code).toBe('E_BUNDLE_INVALID');
    expect(err.message).toBe(`${join(dir, INDEX_FILE)}: ${INDEX_FILE} is not a regular file`);
  });

  it('bundle.json larger than the limit is refused before it is read', async () => {
    const dir = await fresh();
    await writeFile(join(dir, INDEX_FILE), '');
    await truncate(join(dir, INDEX_FILE), MAX_INDEX_BYTES + 1); // sparse: costs no disk
    const err = await caught(openBundle(dir));
    expect(err.code).toBe('E_BUNDLE_INVALID');
    expect(err.message).toContain(`is ${MAX_INDEX_BYTES + 1} bytes, more than the ${MAX_INDEX_BYTES}`);
  });
});

describe('parseIndex', () => {
  it('refuses bytes that are not UTF-8 or not JSON, naming where, with a hint', () => {
    for (const raw of [Buffer.from([0x7b, 0xff, 0x7d]), Buffer.from('{"schema":'), Buffer.alloc(0)]) {
      let err: unknown;
      try {
        parseIndex(raw, 'media/bundle.json');
      } catch (e) {
        err = e;
      }
      expect(isBaleError(err, 'E_BUNDLE_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/^media\/bundle\.json is not valid JSON: /);
      expect((err as BaleError).hint).toMatch(/copy the bundle again/);
    }
  });

  it('refuses JSON that is not an index, listing at most ten problems and how many more', () => {
    const images = Array.from({ length: 12 }, (_, i) => ({ name: `bad-${i}` }));
    let err: unknown;
    try {
      parseIndex(JSON.stringify({ ...INDEX, images }));
    } catch (e) {
      err = e;
    }
    expect(isBaleError(err, 'E_BUNDLE_INVALID')).toBe(true);
    const problems = (err as BaleError).details?.problems as string[];
    expect(problems.length).toBeGreaterThan(10);
    expect((err as Error).message).toMatch(/^bundle\.json is not a valid bale bundle index: /);
    expect((err as Error).message).toContain(`(and ${problems.length - 10} more)`);
  });

  it('refuses a JSON value that is not an object', () => {
    expect(() => parseIndex('[]')).toThrow(/not a valid bale bundle index/);
    expect(() => parseIndex('null')).toThrow(/not a valid bale bundle index/);
  });
});
