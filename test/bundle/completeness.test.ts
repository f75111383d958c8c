/**
 * checkComplete: every manifest's config, layers and children are entries (or, for an
 * incremental bundle, blobs its base says the destination holds), every tag resolves,
 * and a base never names a blob no manifest needs. Plain index data and manifest bytes.
 */
import { describe, expect, it } from 'vitest';
import { baseBlobs, checkComplete, MAX_SMALL_CONTENT } from '../../src/bundle/completeness.js';
import type { BundleBase, BundleEntry, BundleIndex } from '../../src/bundle/index-schema.js';
import type { Problem } from '../../src/bundle/problem.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const REPO = 'app/tool';
const M = d('a');
const CONFIG = d('b');
const LAYER = d('c');
const LIST = d('d');

const manifest = (config: string, layers: string[]): Buffer =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: config, size: 1 },
      layers: layers.map((digest) => ({ mediaType: MEDIA_TYPES.ociLayer, digest, size: 1 })),
    }),
  );
const list = (children: string[]): Buffer =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: children.map((digest) => ({ mediaType: MEDIA_TYPES.ociManifest, digest, size: 1 })),
    }),
  );

const blob = (repo: string, digest: string): BundleEntry => ({
  path: `v2/${repo}/blobs/${digest}`,
  type: 'file',
  size: 1,
  sha256: digest.slice(7),
  volume: 'volume-001.tar.zst',
});
const byDigest = (repo: string, digest: string): BundleEntry => ({
  path: `v2/${repo}/manifests/${digest}`,
  type: 'hardlink',
  size: 0,
  linkTarget: `v2/${repo}/blobs/${digest}`,
  volume: 'volume-001.tar.zst',
});
const tag = (repo: string, name: string, target: string): BundleEntry => ({
  path: `v2/${repo}/manifests/${name}`,
  type: 'symlink',
  size: 0,
  linkTarget: target,
  volume: 'volume-001.tar.zst',
});

function index(entries: BundleEntry[], over: Partial<BundleIndex> = {}): BundleIndex {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0',
    created: '2026-01-01T00:00:00Z',
    volumeSize: 1 << 20,
    releases: [],
    images: [],
    signatures: [],
    manifests: [],
    volumes: [],
    entries,
    ...over,
  };
}

const complete = (): BundleEntry[] => [
  blob(REPO, M),
  byDigest(REPO, M),
  blob(REPO, CONFIG),
  blob(REPO, LAYER),
  tag(REPO, 'v1', M),
];
const contentOf = (extra: [string, Buffer][] = []): Map<string, Buffer> =>
  new Map([[`v2/${REPO}/blobs/${M}`, manifest(CONFIG, [LAYER])], ...extra]);

function run(
  idx: BundleIndex,
  content = contentOf(),
  tooLarge = new Set<string>(),
): { problems: Problem[]; checked: { tags: number; manifests: number } } {
  const problems: Problem[] = [];
  const report = { checked: { tags: 0, manifests: 0 } };
  checkComplete(idx, content, tooLarge, report, (p) => problems.push(p));
  return { problems, checked: report.checked };
}

describe('checkComplete', () => {
  it('a complete bundle: no problem; tags and manifests counted', () => {
    const { problems, checked } = run(index(complete()));
    expect(problems).toEqual([]);
    expect(checked).toEqual({ tags: 1, manifests: 1 });
  });

  it('an empty bundle is complete', () => {
    expect(run(index([]), new Map()).problems).toEqual([]);
  });

  it('a missing layer is E_BUNDLE_INCOMPLETE naming the manifest, the digest and the missing path', () => {
    const { problems } = run(index(complete().filter((e) => !e.path.endsWith(LAYER))));
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_INCOMPLETE',
        volume: 'volume-001.tar.zst',
        entry: `v2/${REPO}/manifests/${M}`,
        digest: LAYER,
        message: `manifest v2/${REPO}/manifests/${M} needs blob ${LAYER}, which is not in the bundle (v2/${REPO}/blobs/${LAYER})`,
      },
    ]);
  });

  it('a missing config is reported like a missing layer', () => {
    const { problems } = run(index(complete().filter((e) => !e.path.endsWith(CONFIG))));
    expect(problems.map((p) => [p.code, p.digest])).toEqual([['E_BUNDLE_INCOMPLETE', CONFIG]]);
  });

  it('a blob in another repository does not count', () => {
    const entries = [...complete().filter((e) => !e.path.endsWith(LAYER)), blob('other/repo', LAYER)];
    expect(run(index(entries)).problems.map((p) => p.digest)).toEqual([LAYER]);
  });

  it('a tag pointing at a manifest that is not there is E_BUNDLE_INCOMPLETE', () => {
    const { problems } = run(index([...complete(), tag(REPO, 'v2', d('9'))]));
    expect(problems).toEqual([
      {
        code: 'E_BUNDLE_INCOMPLETE',
        volume: 'volume-001.tar.zst',
        entry: `v2/${REPO}/manifests/v2`,
        digest: d('9'),
        message: `tag v2/${REPO}/manifests/v2 points to ${d('9')}, which is not in the bundle`,
      },
    ]);
  });

  it('a manifest list needs each child manifest', () => {
    const entries = [...complete(), blob(REPO, LIST), byDigest(REPO, LIST)];
    const content = contentOf([[`v2/${REPO}/blobs/${LIST}`, list([M, d('8')])]]);
    const { problems, checked } = run(index(entries), content);
    expect(checked.manifests).toBe(2);
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'E_BUNDLE_INCOMPLETE',
        digest: d('8'),
        message: `manifest list v2/${REPO}/manifests/${LIST} needs manifest ${d('8')}, which is not in the bundle`,
      }),
    ]);
  });

  it('a manifest that does not parse is E_MANIFEST_INVALID naming the entry and its digest', () => {
    const { problems } = run(index(complete()), new Map([[`v2/${REPO}/blobs/${M}`, Buffer.from('[]')]]));
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'E_MANIFEST_INVALID',
        entry: `v2/${REPO}/manifests/${M}`,
        digest: M,
        message: expect.stringMatching(
          new RegExp(`^v2/${REPO}/manifests/${M}: .*not a JSON object`),
        ) as string,
      }),
    ]);
  });

  it('a manifest too large to read is E_TOO_LARGE, naming the limit', () => {
    const { problems } = run(index(complete()), new Map(), new Set([`v2/${REPO}/blobs/${M}`]));
    expect(problems).toEqual([
      {
        code: 'E_TOO_LARGE',
        volume: 'volume-001.tar.zst',
        entry: `v2/${REPO}/manifests/${M}`,
        message: `manifest v2/${REPO}/manifests/${M} is larger than ${MAX_SMALL_CONTENT} bytes`,
      },
    ]);
  });

  it('a manifest whose bytes were not read (a problem of its own) is skipped, not guessed', () => {
    expect(run(index(complete()), new Map()).problems).toEqual([]);
  });

  it('names from bundle.json must be entries too (images, tags)', () => {
    const img = {
      name: 'tool',
      source: 'example.com/app/tool',
      repository: REPO,
      digest: M,
      mediaType: MEDIA_TYPES.ociManifest,
      size: 3,
      tags: ['v1', 'latest'],
    };
    const { problems } = run(index(complete(), { images: [img] }));
    expect(problems).toEqual([
      expect.objectContaining({ code: 'E_BUNDLE_INCOMPLETE', entry: `v2/${REPO}/manifests/latest` }),
    ]);
  });

  describe('incremental bundles', () => {
    const base = (digests: BundleBase['digests']): BundleBase => ({
      kind: 'snapshot',
      file: 's.json',
      sha256: '0'.repeat(64),
      digests,
    });
    const withoutLayer = complete().filter((e) => !e.path.endsWith(LAYER));

    it('a blob the base holds in that repository need not be carried', () => {
      expect(
        run(index(withoutLayer, { base: base([{ digest: LAYER, repository: REPO }]) })).problems,
      ).toEqual([]);
    });

    it('a blob the base holds elsewhere but mounts here need not be carried', () => {
      const b = base([{ digest: LAYER, repository: 'shared/base', mountTo: [REPO] }]);
      expect(run(index(withoutLayer, { base: b })).problems).toEqual([]);
    });

    it('a blob the base holds only in another repository is missing, and the message says so', () => {
      const b = base([{ digest: LAYER, repository: 'shared/base' }]);
      const { problems } = run(index(withoutLayer, { base: b }));
      expect(problems).toContainEqual(
        expect.objectContaining({
          code: 'E_BUNDLE_INCOMPLETE',
          digest: LAYER,
          message: expect.stringMatching(/nor in its base for app\/tool$/) as string,
        }),
      );
      // …and the base names a blob no manifest needs where it says.
      expect(problems).toContainEqual({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        digest: LAYER,
        message: `base lists ${LAYER} for shared/base, but no manifest of the bundle needs it there`,
      });
    });

    it('a base digest no manifest needs is E_BUNDLE_INVALID (a base is no way to make unpack fetch anything)', () => {
      const b = base([{ digest: d('7'), repository: REPO }]);
      expect(run(index(complete(), { base: b })).problems).toEqual([
        expect.objectContaining({ code: 'E_BUNDLE_INVALID', file: 'bundle.json', digest: d('7') }),
      ]);
    });

    it('each repository a base digest is mounted to must need it', () => {
      const b = base([{ digest: LAYER, repository: 'shared/base', mountTo: [REPO, 'elsewhere/x'] }]);
      expect(run(index(withoutLayer, { base: b })).problems).toEqual([
        expect.objectContaining({
          code: 'E_BUNDLE_INVALID',
          message: expect.stringContaining('for elsewhere/x') as string,
        }),
      ]);
    });
  });
});

describe('baseBlobs', () => {
  it('is empty without a base, and names each repository a digest is expected in or mounted to', () => {
    expect(baseBlobs({})).toEqual(new Set());
    expect(
      baseBlobs({
        base: {
          kind: 'bundle',
          file: 'bundle.json',
          sha256: '0'.repeat(64),
          digests: [{ digest: LAYER, repository: 'a/b', mountTo: ['c/d'] }],
        },
      }),
    ).toEqual(new Set([`a/b@${LAYER}`, `c/d@${LAYER}`]));
  });
});
