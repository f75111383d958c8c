/**
 * What an incremental bundle leaves out (src/workflows/pack/base.ts): `leaveOut` from
 * plain data (which blobs the far side holds, where unpack expects each and where it
 * mounts it), and `loadPackBase` reading --have / refusing --have with --since.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectedImage, ManifestNode } from '../../../src/registry/manifest-tree.js';
import { ImageSet } from '../../../src/sets/inventory.js';
import { renderSnapshotYaml, snapshotFromSet } from '../../../src/sets/snapshot-document.js';
import { leaveOut, loadPackBase, type Holdings } from '../../../src/workflows/pack/base.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

function node(digest: string, blobs: [string, number][]): ManifestNode {
  return {
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    bytes: Buffer.from('{}'),
    blobs: blobs.map(([c, size]) => ({ mediaType: LAYER, digest: d(c), size })),
    children: [],
  };
}

function image(name: string, repository: string, root: ManifestNode): CollectedImage {
  return { name, src: { registry: 'quay.io', repository: 'x/y' }, repository, tags: [], root };
}

const holdings = (entries: [string, string[]][]): Holdings =>
  new Map(entries.map(([c, repos]) => [d(c), { repositories: new Set(repos) }]));

const record = { kind: 'snapshot' as const, file: 'mirror.yaml', sha256: 'e'.repeat(64) };

describe('leaveOut', () => {
  it('leaves out what the far side holds, expected where it is needed, else mounted from where it is', () => {
    const images = [
      image(
        'cli',
        'openshift/release',
        node(d('a'), [
          ['1', 100],
          ['2', 200],
        ]),
      ),
      image(
        'tool',
        'team/tool',
        node(d('b'), [
          ['2', 200],
          ['3', 300],
          ['4', 400],
        ]),
      ),
    ];
    const held = holdings([
      ['2', ['openshift/release']], // needed in both; held in one of them
      ['3', ['elsewhere/repo']], // held only in a repository this bundle does not use
      ['9', ['openshift/release']], // held, but not needed
      ['4', ['aaa/first', 'team/tool']], // held where it is needed, and elsewhere
    ]);
    const base = leaveOut(record, held, images);
    expect(base.skip).toEqual(
      new Set([
        `openshift/release@${d('2')}`,
        `team/tool@${d('2')}`,
        `team/tool@${d('3')}`,
        `team/tool@${d('4')}`,
      ]),
    );
    expect(base.bytes).toBe(200 + 300 + 400);
    expect(base.record).toEqual({
      ...record,
      digests: [
        { digest: d('2'), repository: 'openshift/release', size: 200, mountTo: ['team/tool'] },
        { digest: d('3'), repository: 'elsewhere/repo', size: 300, mountTo: ['team/tool'] },
        { digest: d('4'), repository: 'team/tool', size: 400 },
      ],
    });
  });

  it('the release and graph-data images always carry their own blobs, even when held', () => {
    const images = [
      image('release', 'openshift/release', node(d('a'), [['1', 100]])),
      image('graph-data', 'openshift/graph-data', node(d('b'), [['2', 10]])),
      image('graph-data-signature', 'openshift/graph-data', node(d('c'), [['5', 10]])),
      // a component sharing the release's layer in the same repository: carried with the release
      image(
        'cli',
        'openshift/release',
        node(d('e'), [
          ['1', 100],
          ['3', 300],
        ]),
      ),
    ];
    const held = holdings([
      ['1', ['openshift/release']],
      ['2', ['openshift/graph-data']],
      ['5', ['openshift/graph-data']],
      ['3', ['openshift/release']],
    ]);
    const base = leaveOut(record, held, images);
    expect([...base.skip]).toEqual([`openshift/release@${d('3')}`]);
    expect(base.record.digests.map((x) => x.digest)).toEqual([d('3')]);
  });

  it('nothing held: nothing left out', () => {
    const base = leaveOut(record, new Map(), [image('cli', 'openshift/release', node(d('a'), [['1', 1]]))]);
    expect(base).toEqual({ record: { ...record, digests: [] }, skip: new Set(), bytes: 0 });
  });
});

describe('loadPackBase', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await makeTempDir('bale-pack-base-');
  });
  afterAll(async () => {
    await removeTempDir(tmp);
  });

  it('neither: no base; both: E_USAGE before anything is read', async () => {
    expect(await loadPackBase({})).toBeUndefined();
    await expect(
      loadPackBase({ have: join(tmp, 'nope.yaml'), since: join(tmp, 'nope') }),
    ).rejects.toMatchObject({
      code: 'E_USAGE',
      message: '--have and --since both name a base: give one',
    });
  });

  it('--have: the snapshot, recorded by file name and sha256', async () => {
    const path = join(tmp, 'mirror-snapshot.yaml');
    await writeFile(
      path,
      renderSnapshotYaml(snapshotFromSet(new ImageSet([{ name: 'a/b', digest: d('a'), tags: ['v1'] }]))),
    );
    const loaded = await loadPackBase({ have: path });
    expect(loaded).toMatchObject({
      kind: 'snapshot',
      path,
      record: {
        kind: 'snapshot',
        file: 'mirror-snapshot.yaml',
        sha256: createHash('sha256')
          .update(await readFile(path))
          .digest('hex'),
      },
    });
  });

  it('--have with a file that is no snapshot: the snapshot error, naming the file', async () => {
    const path = join(tmp, 'bad.yaml');
    await writeFile(path, 'hello: world\n');
    await expect(loadPackBase({ have: path })).rejects.toMatchObject({
      code: 'E_SNAPSHOT_INVALID',
      message: expect.stringContaining(path),
    });
  });
});
