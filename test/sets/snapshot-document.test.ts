/** The snapshot document: byte-exact rendering, and a strict reader for hostile files. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { ImageSet } from '../../src/sets/inventory.js';
import {
  parseSnapshot,
  readSnapshotFile,
  renderSnapshotCsv,
  renderSnapshotYaml,
  setFromSnapshot,
  snapshotFromSet,
} from '../../src/sets/snapshot-document.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

function sample(): ImageSet {
  // Added out of order, with a repeat: the document must not care.
  return new ImageSet([
    { name: 'tools', digest: d('c'), tags: ['v1'] },
    { name: 'openshift/release', digest: d('b'), tags: ['4.18.2-x86_64'] },
    { name: 'openshift/release', digest: d('a'), tags: ['4.18.1-x86_64-cli'] },
    { name: 'openshift/release', digest: d('a'), tags: ['4.18.1-x86_64', '4.18.1-x86_64-cli'] },
    { name: 'multi', digest: d('e'), tags: [] },
    { name: 'multi', digest: d('d'), tags: ['latest'] },
    { name: '1.0', digest: d('f'), tags: ['true'] },
  ]);
}

const EXPECTED_YAML = `- name: "1.0"
  dmap:
    "${d('f')}": ["true"]
- name: multi
  dmap:
    "${d('d')}": ["latest"]
    "${d('e')}": []
- name: openshift/release
  dmap:
    "${d('a')}": ["4.18.1-x86_64", "4.18.1-x86_64-cli"]
    "${d('b')}": ["4.18.2-x86_64"]
- name: tools
  dmap:
    "${d('c')}": ["v1"]
`;

const EXPECTED_CSV = `name,digest,tag
1.0,${d('f')},true
multi,${d('d')},latest
multi,${d('e')},
openshift/release,${d('a')},4.18.1-x86_64
openshift/release,${d('a')},4.18.1-x86_64-cli
openshift/release,${d('b')},4.18.2-x86_64
tools,${d('c')},v1
`;

describe('rendering', () => {
  it("YAML in the promoter's images.yaml shape, sorted, names that YAML would retype quoted", () => {
    expect(renderSnapshotYaml(snapshotFromSet(sample()))).toBe(EXPECTED_YAML);
  });

  it('CSV: one row per tag, an untagged digest with an empty tag', () => {
    expect(renderSnapshotCsv(snapshotFromSet(sample()))).toBe(EXPECTED_CSV);
  });

  it('an empty set', () => {
    expect(renderSnapshotYaml([])).toBe('[]\n');
    expect(renderSnapshotCsv([])).toBe('name,digest,tag\n');
    expect(parseSnapshot('[]\n', 'f')).toEqual([]);
    expect(parseSnapshot('name,digest,tag\n', 'f')).toEqual([]);
  });
});

describe('reading back', () => {
  const doc = snapshotFromSet(sample());

  it('YAML, CSV and the --json document all read back to the same document', () => {
    expect(parseSnapshot(EXPECTED_YAML, 'a.yaml')).toEqual(doc);
    expect(parseSnapshot(EXPECTED_CSV, 'a.csv')).toEqual(doc);
    const json = JSON.stringify({ ok: true, source: 'mirror:5000/ocp4', images: doc }, null, 2);
    expect(parseSnapshot(json, 'a.json')).toEqual(doc);
    expect(setFromSnapshot(doc).images()).toEqual(sample().images());
  });

  const hostile: [string, string, RegExp][] = [
    ['not YAML', '- name: [unclosed', /not valid YAML or JSON/],
    ['a mapping at the top', 'name: x\n', /unknown field\(s\) name/],
    ['a scalar at the top', 'hello\n', /expected a list of images/],
    ['an unknown field', `- name: a\n  dmap: {}\n  size: 3\n`, /image 1 has unknown field\(s\) size/],
    ['a name that is not a repository path', `- name: "UP/per"\n  dmap: {}\n`, /is not a repository path/],
    ['a name listed twice', `- name: a\n  dmap: {}\n- name: a\n  dmap: {}\n`, /a is listed a second time/],
    [
      'a duplicate digest key',
      `- name: a\n  dmap:\n    "${d('a')}": []\n    "${d('a')}": []\n`,
      /not valid YAML/,
    ],
    ['a key that is not a digest', `- name: a\n  dmap:\n    "sha256:abc": []\n`, /is not a sha256 digest/],
    ['tags that are not a list', `- name: a\n  dmap:\n    "${d('a')}": latest\n`, /are not a list/],
    ['a tag that is not a tag', `- name: a\n  dmap:\n    "${d('a')}": ["no spaces"]\n`, /is not a tag/],
    ['a tag listed twice', `- name: a\n  dmap:\n    "${d('a')}": ["x", "x"]\n`, /lists tag x twice/],
    [
      'a tag naming two digests',
      `- name: a\n  dmap:\n    "${d('a')}": ["x"]\n    "${d('b')}": ["x"]\n`,
      /tag a:x names two digests/,
    ],
    ['a CSV row with four cells', `name,digest,tag\na,${d('a')},x,y\n`, /line 2.*not name,digest,tag/],
    ['a CSV tag naming two digests', `name,digest,tag\na,${d('a')},x\na,${d('b')},x\n`, /names two digests/],
    ['an unknown field in the JSON document', '{"images": [], "extra": 1}', /unknown field\(s\) extra/],
  ];
  for (const [what, text, message] of hostile) {
    it(`refuses ${what} (E_SNAPSHOT_INVALID)`, () => {
      let err: unknown;
      try {
        parseSnapshot(text, 'have.yaml');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BaleError);
      expect((err as BaleError).code).toBe('E_SNAPSHOT_INVALID');
      expect((err as BaleError).message).toMatch(/^have\.yaml/);
      expect((err as BaleError).message).toMatch(message);
      expect((err as BaleError).hint).toMatch(/bale snapshot/);
    });
  }
});

describe('readSnapshotFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('bale-snapdoc-');
  });
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('reads a file; a missing one is E_IO, a directory or non-UTF-8 bytes E_SNAPSHOT_INVALID', async () => {
    await writeFile(join(dir, 'ok.yaml'), EXPECTED_YAML);
    expect(await readSnapshotFile(join(dir, 'ok.yaml'))).toEqual(snapshotFromSet(sample()));
    await expect(readSnapshotFile(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'E_IO' });
    await mkdir(join(dir, 'sub'));
    await expect(readSnapshotFile(join(dir, 'sub'))).rejects.toMatchObject({ code: 'E_SNAPSHOT_INVALID' });
    await writeFile(join(dir, 'bin.yaml'), Buffer.from([0xff, 0xfe, 0x00]));
    await expect(readSnapshotFile(join(dir, 'bin.yaml'))).rejects.toMatchObject({
      code: 'E_SNAPSHOT_INVALID',
      message: expect.stringMatching(/not UTF-8/) as unknown,
    });
  });
});
