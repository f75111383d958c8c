/**
 * The files of a bundle that can reach a cluster (config/ and manifests/) as verify
 * read them: their objects, whether their own signatures vouch for them, and every way
 * one can be refused (never skipped). Plain index data and file bytes.
 */
import { describe, expect, it } from 'vitest';
import { isClusterFile, readClusterFiles } from '../../src/bundle/cluster-files.js';
import { MAX_SMALL_CONTENT } from '../../src/bundle/completeness.js';
import type { BundleEntry, BundleIndex } from '../../src/bundle/index-schema.js';
import type { Problem } from '../../src/bundle/problem.js';

const CM = 'config/signature-sha256-aaaa.yaml';
const MF = 'manifests/idms.yaml';
const cmText =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sha256-aaaa\n  namespace: openshift-config-managed\nbinaryData: {}\n';
const twoObjects = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: one\n---\napiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: mirror\nspec: {}\n`;

const file = (path: string, over: Partial<BundleEntry> = {}): BundleEntry => ({
  path,
  type: 'file',
  size: 10,
  sha256: '0'.repeat(64),
  volume: 'volume-001.tar.zst',
  ...over,
});

function index(entries: BundleEntry[], manifests: string[] = []): BundleIndex {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0',
    created: '2026-01-01T00:00:00Z',
    volumeSize: 1,
    releases: [],
    images: [],
    signatures: [],
    manifests,
    volumes: [],
    entries,
  };
}

function read(
  idx: BundleIndex,
  content: Record<string, string>,
  o: { tooLarge?: string[]; verified?: string[] } = {},
): { files: ReturnType<typeof readClusterFiles>; problems: Problem[] } {
  const problems: Problem[] = [];
  const files = readClusterFiles({
    index: idx,
    content: new Map(Object.entries(content).map(([k, v]) => [k, Buffer.from(v)])),
    tooLarge: new Set(o.tooLarge ?? []),
    verifiedConfigMaps: new Set(o.verified ?? []),
    add: (p) => problems.push(p),
  });
  return { files, problems };
}

describe('isClusterFile', () => {
  it('is true under config/ and manifests/ only', () => {
    expect(isClusterFile(CM)).toBe(true);
    expect(isClusterFile(MF)).toBe(true);
    expect(isClusterFile('signatures/sha256=a/signature-1')).toBe(false);
    expect(isClusterFile('v2/config/blobs/x')).toBe(false);
    expect(isClusterFile('configs/x')).toBe(false);
  });
});

describe('readClusterFiles', () => {
  it('reads each file with its objects; listed ones are marked; a verified ConfigMap vouches for itself', () => {
    const { files, problems } = read(
      index([file(CM), file(MF), file('v2/a/b/blobs/x')], [MF]),
      { [CM]: cmText, [MF]: twoObjects },
      { verified: [CM] },
    );
    expect(problems).toEqual([]);
    expect(files.map((f) => [f.path, f.listed, f.verifiedSignatures])).toEqual([
      [CM, false, true],
      [MF, true, false],
    ]);
    expect(files[0]?.objects).toEqual([
      { kind: 'ConfigMap', namespace: 'openshift-config-managed', name: 'sha256-aaaa' },
    ]);
    expect(files[1]?.objects).toEqual([
      { kind: 'Namespace', name: 'one' },
      { kind: 'ImageDigestMirrorSet', name: 'mirror' },
    ]);
    expect(files[1]?.text).toBe(twoObjects);
    expect(files[1]?.kubeObjects).toHaveLength(2);
  });

  it('a verified ConfigMap file that smuggles a second object in does not count as signed', () => {
    const smuggled = `${cmText}---\n${twoObjects}`;
    const { files } = read(index([file(CM)]), { [CM]: smuggled }, { verified: [CM] });
    expect(files[0]?.verifiedSignatures).toBe(false);
    expect(files[0]?.objects).toHaveLength(3);
  });

  it('bundle.json listing a manifest that is not a file under config/ or manifests/ is E_BUNDLE_INVALID', () => {
    const { problems } = read(
      index([file(MF), file('v2/a/b/blobs/x')], [MF, 'v2/a/b/blobs/x', 'manifests/missing.yaml']),
      { [MF]: twoObjects },
    );
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        entry: 'v2/a/b/blobs/x',
        message:
          'bundle.json lists manifest v2/a/b/blobs/x, which is not a file under config/ or manifests/ in the bundle',
      },
      expect.objectContaining({ code: 'E_BUNDLE_INVALID', entry: 'manifests/missing.yaml' }),
    ]);
  });

  it('a cluster file that is a link or split into parts is refused', () => {
    const { files, problems } = read(
      index([
        { path: 'manifests/link.yaml', type: 'symlink', size: 0, linkTarget: `sha256:${'a'.repeat(64)}` },
        file('manifests/split.yaml', {
          parts: [
            {
              volume: 'v',
              path: 'manifests/split.yaml.part-001',
              offset: 0,
              size: 10,
              sha256: '0'.repeat(64),
            },
          ],
        }),
      ]),
      {},
    );
    expect(files).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([
      'manifests/link.yaml is not a single regular file',
      'manifests/split.yaml is not a single regular file',
    ]);
  });

  it('a file too large to check is E_TOO_LARGE: refused, not skipped', () => {
    const { files, problems } = read(
      index([file(MF, { size: MAX_SMALL_CONTENT + 1 })]),
      {},
      { tooLarge: [MF] },
    );
    expect(files).toEqual([]);
    expect(problems).toEqual([
      {
        code: 'E_TOO_LARGE',
        volume: 'volume-001.tar.zst',
        entry: MF,
        message: `${MF} is ${MAX_SMALL_CONTENT + 1} bytes, larger than ${MAX_SMALL_CONTENT}: it cannot be checked, so it is refused`,
      },
    ]);
  });

  it('a file that does not parse is E_CONFIG naming the file; its bytes missing (damaged) is left to the entry check', () => {
    const { files, problems } = read(index([file(MF), file('manifests/gone.yaml')]), {
      [MF]: 'kind: [unclosed\n',
    });
    expect(files).toEqual([]);
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'E_CONFIG',
        entry: MF,
        volume: 'volume-001.tar.zst',
        message: expect.stringMatching(
          /^manifests\/idms\.yaml: manifest manifests\/idms\.yaml is not valid YAML/,
        ) as string,
      }),
    ]);
  });

  it('an object without a name is refused with the cluster code', () => {
    const { problems } = read(index([file(MF)]), { [MF]: 'apiVersion: v1\nkind: Namespace\nmetadata: {}\n' });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.entry).toBe(MF);
    expect(problems[0]?.code).toBe('E_CONFIG');
  });

  it('an empty file yields no objects', () => {
    const { files, problems } = read(index([file(MF)]), { [MF]: '' });
    expect(problems).toEqual([]);
    expect(files[0]?.objects).toEqual([]);
  });
});
