/** bale snapshot --bundle: the same document from a bundle alone, from its sealed index. */
import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { renderSnapshotYaml } from '../../../src/sets/snapshot-document.js';
import { setFromIndex, snapshot } from '../../../src/workflows/snapshot/index.js';
import {
  FIXTURE_REPO,
  FIXTURE_VERSION,
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../../fixtures/hostile/valid-bundle.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const opts = { env: {}, homeDir: '/nonexistent' };

describe('snapshot --bundle', () => {
  let root: string;
  let key: SigningKey;
  let b: ValidBundle;
  beforeAll(async () => {
    root = await makeTempDir('bale-snap-bundle-');
    key = await makeSigningKey();
    b = await buildValidBundle(join(root, 'b'), key);
  }, 60_000);
  afterAll(async () => {
    if (root) await removeTempDir(root);
  });

  const copy = async (name: string): Promise<string> => {
    const dir = join(root, name);
    await cp(b.dir, dir, { recursive: true });
    return dir;
  };

  it('lists the repositories, digests and tags the bundle carries', async () => {
    const r = await snapshot({ ...opts, bundleDir: b.dir });
    expect(r.source).toBe(`bundle ${b.dir}`);
    const cli = b.index.images.find((i) => i.name === 'cli');
    expect(r.document).toEqual([
      {
        name: FIXTURE_REPO,
        dmap: Object.fromEntries(
          [
            [b.releaseDigest, [`${FIXTURE_VERSION}-x86_64`]],
            [cli?.digest ?? '', [`${FIXTURE_VERSION}-x86_64-cli`]],
          ].sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1)),
        ),
      },
    ]);
  });

  it('is byte-identical across runs, and --verify (every volume, signatures) agrees', async () => {
    const a = renderSnapshotYaml((await snapshot({ ...opts, bundleDir: b.dir })).document);
    const v = await snapshot({ ...opts, bundleDir: b.dir, verifyBundle: true, keyrings: [key.keyring] });
    expect(renderSnapshotYaml(v.document)).toBe(a);
  });

  it('a bundle.json changed after sealing is E_BUNDLE_CORRUPT', async () => {
    const dir = await copy('changed');
    const raw = await readFile(join(dir, 'bundle.json'), 'utf8');
    await writeFile(
      join(dir, 'bundle.json'),
      raw.replace(`${FIXTURE_VERSION}-x86_64-cli`, `${FIXTURE_VERSION}-x86_64-cla`),
    );
    await expect(snapshot({ ...opts, bundleDir: dir })).rejects.toMatchObject({
      code: 'E_BUNDLE_CORRUPT',
      message: expect.stringMatching(/does not match its checksum in SHA256SUMS/) as unknown,
    });
  });

  it('no SHA256SUMS: E_BUNDLE_INCOMPLETE; no bundle.json: E_BUNDLE_INCOMPLETE', async () => {
    const noSums = await copy('nosums');
    await rm(join(noSums, 'SHA256SUMS'));
    await expect(snapshot({ ...opts, bundleDir: noSums })).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
    });
    const noIndex = await copy('noindex');
    await rm(join(noIndex, 'bundle.json'));
    await expect(snapshot({ ...opts, bundleDir: noIndex })).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
    });
  });

  it('a damaged volume: the index alone still reads, --verify refuses (E_VERIFY_FAILED)', async () => {
    const dir = await copy('damaged');
    const vol = b.index.volumes[0]?.name ?? '';
    await truncate(join(dir, vol), 100);
    expect((await snapshot({ ...opts, bundleDir: dir })).document).toHaveLength(1);
    await expect(
      snapshot({ ...opts, bundleDir: dir, verifyBundle: true, keyrings: [key.keyring] }),
    ).rejects.toMatchObject({
      code: 'E_VERIFY_FAILED',
      hint: expect.stringMatching(/bale verify/) as unknown,
    });
  });

  it('--repository does not apply to a bundle', async () => {
    await expect(snapshot({ ...opts, bundleDir: b.dir, repositories: ['x'] })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
  });
});

describe('setFromIndex', () => {
  const d = (c: string): string => `sha256:${c.repeat(64)}`;
  const index = {
    images: [
      {
        name: 'release',
        repository: 'openshift/release',
        digest: d('a'),
        tags: ['4.18.1-multi'],
        size: 10,
        children: [d('b'), d('c')],
      },
      { name: 'cli', repository: 'openshift/release', digest: d('b'), tags: ['4.18.1-multi-cli'], size: 5 },
    ],
  } as unknown as BundleIndex;

  it('children of a manifest list are untagged digests, unless minimal; tags merge', () => {
    expect(setFromIndex(index, false).images()).toEqual([
      { name: 'openshift/release', digest: d('a'), tags: ['4.18.1-multi'], bytes: 10 },
      { name: 'openshift/release', digest: d('b'), tags: ['4.18.1-multi-cli'], bytes: 5 },
      { name: 'openshift/release', digest: d('c'), tags: [] },
    ]);
    expect(
      setFromIndex(index, true)
        .images()
        .map((i) => i.digest),
    ).toEqual([d('a'), d('b')]);
  });
});
