/**
 * What bundle.json alone can show before any volume is read: every release, image, tag,
 * child and graph-data image it names is an entry, and each blob entry's sha256 is the
 * digest in its name (unpack's single pass sends nothing when this fails).
 */
import { describe, expect, it } from 'vitest';
import type { BundleEntry, BundleIndex } from '../../../src/bundle/index-schema.js';
import type { Problem } from '../../../src/bundle/problem.js';
import { checkIndexNames, indexPrecheck } from '../../../src/bundle/verify-steps/index-names.js';
import { MEDIA_TYPES } from '../../../src/registry/manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const REL = d('a');
const CHILD = d('b');
const G = d('c');
const GS = d('e');
const R = 'openshift/release';
const GR = 'openshift/graph-data';

const file = (path: string, sha256?: string): BundleEntry => ({
  path,
  type: 'file',
  size: 1,
  ...(sha256 ? { sha256 } : {}),
});
const link = (path: string, target: string): BundleEntry => ({
  path,
  type: 'symlink',
  size: 0,
  linkTarget: target,
});

function index(): BundleIndex {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0',
    created: '2026-01-01T00:00:00Z',
    volumeSize: 1 << 20,
    releases: [
      {
        version: '4.18.1',
        architecture: 'multi',
        digest: REL,
        source: 'quay.io/o/r',
        repository: R,
        tag: '4.18.1-multi',
      },
    ],
    images: [
      {
        name: 'release',
        source: 'quay.io/o/r',
        repository: R,
        digest: REL,
        mediaType: MEDIA_TYPES.ociIndex,
        size: 1,
        tags: ['4.18.1-multi'],
        children: [CHILD],
      },
    ],
    signatures: [],
    graphData: {
      revision: 'r',
      digest: G,
      source: 'quay.io/o/g',
      repository: GR,
      tag: '1.0',
      signatureDigest: GS,
      signatureTag: 'sha256-x.sig',
      signatures: [],
    },
    manifests: [],
    volumes: [],
    entries: [
      file(`v2/${R}/blobs/${REL}`, REL.slice(7)),
      file(`v2/${R}/manifests/${REL}`),
      file(`v2/${R}/manifests/${CHILD}`),
      link(`v2/${R}/manifests/4.18.1-multi`, REL),
      file(`v2/${GR}/manifests/${G}`),
      file(`v2/${GR}/manifests/${GS}`),
      link(`v2/${GR}/manifests/1.0`, G),
      link(`v2/${GR}/manifests/sha256-x.sig`, GS),
    ],
  };
}

const names = (idx: BundleIndex): Problem[] => {
  const out: Problem[] = [];
  checkIndexNames(idx, (p) => out.push(p));
  return out;
};
const without = (idx: BundleIndex, path: string): BundleIndex => ({
  ...idx,
  entries: idx.entries.filter((e) => e.path !== path),
});

describe('checkIndexNames', () => {
  it('finds nothing missing in a consistent index', () => {
    expect(names(index())).toEqual([]);
  });

  it.each([
    [`v2/${R}/manifests/${REL}`, 'release image 4.18.1', REL],
    [`v2/${R}/manifests/4.18.1-multi`, 'release tag of 4.18.1', undefined],
    [`v2/${R}/manifests/${CHILD}`, 'child manifest of release', CHILD],
    [`v2/${GR}/manifests/${G}`, 'graph-data image', G],
    [`v2/${GR}/manifests/1.0`, 'graph-data tag', undefined],
    [`v2/${GR}/manifests/${GS}`, 'graph-data signature image', GS],
    [`v2/${GR}/manifests/sha256-x.sig`, 'graph-data signature tag', undefined],
  ])('without %s: E_BUNDLE_INCOMPLETE for the %s', (path, what, digest) => {
    const problems = names(without(index(), path));
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems).toContainEqual({
      code: 'E_BUNDLE_INCOMPLETE',
      entry: path,
      ...(digest ? { digest } : {}),
      message: expect.stringMatching(
        new RegExp(
          `^${what.replace(/[.]/g, '\\.')} .* is not in the bundle \\(no ${path.replace(/[.]/g, '\\.')}\\)$`,
        ),
      ) as string,
    });
  });
});

describe('indexPrecheck', () => {
  it('is empty for a consistent index', () => {
    expect(indexPrecheck(index())).toEqual([]);
  });

  it('reports a blob entry whose sha256 is not the digest in its name, or that has none', () => {
    const idx = index();
    const bad = `v2/${R}/blobs/${d('f')}`;
    idx.entries.push(file(bad, '0'.repeat(64)), file(`v2/${R}/blobs/${d('9')}`));
    expect(indexPrecheck(idx)).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        entry: bad,
        message: `${bad}: bundle.json gives sha256 ${'0'.repeat(64)}, not the digest in its name`,
      },
      expect.objectContaining({
        code: 'E_BUNDLE_INVALID',
        message: expect.stringContaining('gives sha256 (none)') as string,
      }),
    ]);
  });

  it('includes the missing names as well', () => {
    // Named twice: as the release and as an image.
    expect(indexPrecheck(without(index(), `v2/${R}/manifests/${REL}`)).map((p) => p.message)).toEqual([
      `release image 4.18.1 ${R}:${REL} is not in the bundle (no v2/${R}/manifests/${REL})`,
      `image release ${R}:${REL} is not in the bundle (no v2/${R}/manifests/${REL})`,
    ]);
  });
});
