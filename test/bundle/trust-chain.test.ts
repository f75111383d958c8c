/**
 * The trust chain as a pure function of what verify established: which root anchors
 * each image, tag, entry and cluster object, and which problems (E_UNANCHORED,
 * E_TRUST_MISMATCH, E_BUNDLE_INVALID, E_MANIFEST_INVALID) it reports. Plain data in,
 * report out; the end-to-end forgery tests (test/workflows/unpack/forgery*.test.ts)
 * exercise the same function through real bundles.
 */
import { describe, expect, it } from 'vitest';
import {
  computeTrust,
  identityTag,
  type TrustInput,
  type TrustReport,
} from '../../src/bundle/trust-chain.js';
import type { BundleEntry, BundleIndex } from '../../src/bundle/index-schema.js';
import type { Problem } from '../../src/bundle/problem.js';
import type { ReleaseInfo } from '../../src/release/parse-release.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const REPO = 'openshift/release';
const RELEASE = d('a');
const RELEASE_CONFIG = d('b');
const RELEASE_LAYER = d('c');
const COMPONENT = d('e');
const COMPONENT_LAYER = d('f');
const EXTRA = d('9');
const EXTRA_LAYER = d('8');
const SOURCE = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';

const imageManifest = (config: string, layers: string[]): Buffer =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 2 },
      layers: layers.map((digest) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest,
        size: 1,
      })),
    }),
  );

const file = (path: string): BundleEntry => ({
  path,
  type: 'file',
  size: 1,
  sha256: '0'.repeat(64),
  volume: 'volume-001.tar.zst',
});
const tag = (repo: string, name: string, target: string): BundleEntry => ({
  path: `v2/${repo}/manifests/${name}`,
  type: 'symlink',
  size: 0,
  linkTarget: target,
});

/** A bundle with one signed release, one component and one extra (--image) image. */
function input(over: Partial<TrustInput> = {}, index: Partial<BundleIndex> = {}): TrustInput {
  const manifests = new Map<string, Buffer>([
    [`v2/${REPO}/blobs/${RELEASE}`, imageManifest(RELEASE_CONFIG, [RELEASE_LAYER])],
    [`v2/${REPO}/blobs/${COMPONENT}`, imageManifest(RELEASE_CONFIG, [COMPONENT_LAYER])],
    [`v2/extra/tool/blobs/${EXTRA}`, imageManifest(EXTRA_LAYER, [EXTRA_LAYER])],
  ]);
  const full: BundleIndex = {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0',
    created: '2026-01-01T00:00:00Z',
    volumeSize: 1 << 20,
    releases: [
      {
        version: '4.18.1',
        architecture: 'x86_64',
        digest: RELEASE,
        source: 'quay.io/openshift-release-dev/ocp-release',
        repository: REPO,
        tag: '4.18.1-x86_64',
      },
    ],
    images: [
      {
        name: 'release',
        source: 'quay.io/openshift-release-dev/ocp-release',
        repository: REPO,
        digest: RELEASE,
        mediaType: MEDIA_TYPES.ociManifest,
        size: 3,
        tags: ['4.18.1-x86_64'],
      },
      {
        name: 'cli',
        source: SOURCE,
        repository: REPO,
        digest: COMPONENT,
        mediaType: MEDIA_TYPES.ociManifest,
        size: 3,
        tags: ['4.18.1-x86_64-cli'],
      },
      {
        name: 'extra',
        source: 'example.com/extra/tool',
        repository: 'extra/tool',
        digest: EXTRA,
        mediaType: MEDIA_TYPES.ociManifest,
        size: 2,
        tags: ['v1'],
      },
    ],
    signatures: [],
    manifests: [],
    volumes: [],
    entries: [
      file(`v2/${REPO}/blobs/${RELEASE}`),
      file(`v2/${REPO}/blobs/${RELEASE_CONFIG}`),
      file(`v2/${REPO}/blobs/${RELEASE_LAYER}`),
      file(`v2/${REPO}/blobs/${COMPONENT}`),
      file(`v2/${REPO}/blobs/${COMPONENT_LAYER}`),
      tag(REPO, '4.18.1-x86_64', RELEASE),
      tag(REPO, '4.18.1-x86_64-cli', COMPONENT),
      file(`v2/extra/tool/blobs/${EXTRA}`),
      file(`v2/extra/tool/blobs/${EXTRA_LAYER}`),
      tag('extra/tool', 'v1', EXTRA),
    ],
    ...index,
  };
  const info: ReleaseInfo = {
    version: '4.18.1',
    architecture: 'amd64',
    components: [
      {
        name: 'cli',
        image: {
          registry: 'quay.io',
          repository: 'openshift-release-dev/ocp-v4.0-art-dev',
          digest: COMPONENT,
        },
      },
    ],
    metadata: { kind: 'cincinnati-metadata-v0', version: '4.18.1' },
  };
  return {
    index: full,
    manifestBytes: (p) => manifests.get(p),
    releases: new Map([[RELEASE, info]]),
    signed: new Map([
      [
        RELEASE,
        {
          kind: 'release',
          identities: ['quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64'],
          keyIds: ['199E2F91FD431D51'],
        },
      ],
    ]),
    clusterFiles: [],
    indexSignature: { state: 'unsigned' },
    allowUnsigned: false,
    ...over,
  };
}

function run(t: TrustInput): { report: TrustReport; problems: Problem[] } {
  const problems: Problem[] = [];
  const report = computeTrust(t, (p) => problems.push(p));
  return { report, problems };
}

const anchorOf = (r: TrustReport, name: string): string | undefined =>
  r.items.find((i) => i.name === name)?.anchor;

describe('identityTag', () => {
  it('is the tag of a docker reference, never a port', () => {
    expect(identityTag('quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64')).toBe('4.18.1-x86_64');
    expect(identityTag('127.0.0.1:5000/ocp/release')).toBeUndefined();
    expect(identityTag('127.0.0.1:5000/ocp/release:4.18.1')).toBe('4.18.1');
    expect(identityTag('release')).toBeUndefined();
  });
});

describe('computeTrust', () => {
  it('anchors the signed release, its components, their blobs and tags; the extra image is unanchored', () => {
    const { report, problems } = run(input());
    expect(anchorOf(report, `${REPO}@${RELEASE}`)).toBe('release-signature');
    expect(report.items.find((i) => i.name === `${REPO}@${RELEASE}`)?.by).toMatch(
      /signed as quay\.io\/openshift-release-dev\/ocp-release:4\.18\.1-x86_64/,
    );
    expect(anchorOf(report, `${REPO}@${COMPONENT}`)).toBe('release-signature');
    expect(report.items.find((i) => i.name === `${REPO}@${COMPONENT}`)?.by).toBe(
      `image-references of ${RELEASE}`,
    );
    expect(anchorOf(report, `${REPO}:4.18.1-x86_64`)).toBe('release-signature');
    expect(anchorOf(report, `${REPO}:4.18.1-x86_64-cli`)).toBe('release-signature');
    // Blobs reached through the manifests are not listed as items of their own.
    expect(report.items.some((i) => i.name.endsWith(RELEASE_LAYER))).toBe(false);
    expect(report.items.some((i) => i.name.endsWith(COMPONENT_LAYER))).toBe(false);
    // The extra image, its tag and its blobs: nothing anchors them.
    expect(anchorOf(report, `extra/tool@${EXTRA}`)).toBe('none');
    expect(anchorOf(report, 'extra/tool:v1')).toBe('none');
    expect(anchorOf(report, `v2/extra/tool/blobs/${EXTRA_LAYER}`)).toBe('none');
    expect(problems.every((p) => p.code === 'E_UNANCHORED')).toBe(true);
    expect(problems.map((p) => p.entry ?? p.digest)).toEqual([
      EXTRA,
      `v2/extra/tool/blobs/${EXTRA}`,
      `v2/extra/tool/blobs/${EXTRA_LAYER}`,
      'v2/extra/tool/manifests/v1',
    ]);
    expect(problems[0]?.message).toMatch(
      /image extra .* is not anchored: .*bundle\.json is not signed by a key in --index-keyring/,
    );
    expect(report.unanchored).toBe(4);
  });

  it('anchors what the release does not reach by a verified bundle signature, naming the key', () => {
    const { report, problems } = run(input({ indexSignature: { state: 'signed', keyId: 'ABCD' } }));
    expect(problems).toEqual([]);
    expect(anchorOf(report, `extra/tool@${EXTRA}`)).toBe('bundle-signature');
    expect(report.items.find((i) => i.name === `extra/tool@${EXTRA}`)?.by).toBe('bundle.json.asc (key ABCD)');
    expect(anchorOf(report, `${REPO}@${RELEASE}`)).toBe('release-signature');
    expect(report.unanchored).toBe(0);
  });

  it('with --allow-unsigned counts the extra image as unsigned and reports no problem', () => {
    const { report, problems } = run(input({ allowUnsigned: true }));
    expect(problems).toEqual([]);
    expect(anchorOf(report, `extra/tool@${EXTRA}`)).toBe('unsigned');
    expect(report.unanchored).toBe(4);
    expect(report.allowUnsigned).toBe(true);
  });

  it('a bundle signature that is only present but not checked anchors nothing', () => {
    const { problems } = run(input({ indexSignature: { state: 'not-checked' } }));
    expect(problems.filter((p) => p.code === 'E_UNANCHORED')).toHaveLength(4);
  });

  it('an unsigned release is E_UNANCHORED, naming version and digest, and anchors none of its components', () => {
    const { report, problems } = run(input({ signed: new Map() }));
    const rel = problems.find((p) => p.digest === RELEASE && p.code === 'E_UNANCHORED');
    expect(rel?.message).toBe(
      `release 4.18.1 (${RELEASE}) has no signature that verifies with the release keyring`,
    );
    expect(anchorOf(report, `${REPO}@${COMPONENT}`)).toBe('none');
    expect(anchorOf(report, `${REPO}:4.18.1-x86_64`)).toBe('none');
  });

  it('a tag moved away from the signed digest is E_TRUST_MISMATCH, even with a signed bundle.json', () => {
    const t = input({ indexSignature: { state: 'signed', keyId: 'K' }, allowUnsigned: true });
    const entries = t.index.entries.map((e) =>
      e.path === `v2/${REPO}/manifests/4.18.1-x86_64-cli` ? { ...e, linkTarget: EXTRA } : e,
    );
    const { report, problems } = run({ ...t, index: { ...t.index, entries } });
    expect(problems).toEqual([
      {
        code: 'E_TRUST_MISMATCH',
        entry: `v2/${REPO}/manifests/4.18.1-x86_64-cli`,
        digest: EXTRA,
        message: `tag ${REPO}:4.18.1-x86_64-cli points to ${EXTRA}, but the signed chain says ${COMPONENT}`,
      },
    ]);
    // The moved tag is not listed as anchored.
    expect(report.items.some((i) => i.name === `${REPO}:4.18.1-x86_64-cli`)).toBe(false);
  });

  it('a release presented under a tag its signatures do not name is E_TRUST_MISMATCH', () => {
    const t = input({
      signed: new Map([
        [RELEASE, { kind: 'release', identities: ['quay.io/ocp/release:4.17.0-x86_64'], keyIds: ['K'] }],
      ]),
    });
    const { problems } = run(t);
    expect(problems).toContainEqual({
      code: 'E_TRUST_MISMATCH',
      digest: RELEASE,
      entry: `v2/${REPO}/manifests/4.18.1-x86_64`,
      message:
        'the release is presented as 4.18.1-x86_64, but its signatures name quay.io/ocp/release:4.17.0-x86_64',
    });
  });

  it('a bundle.json version that differs from the signed payload is E_TRUST_MISMATCH', () => {
    const t = input();
    const info = t.releases.get(RELEASE);
    if (!info) throw new Error('fixture');
    const { problems } = run({ ...t, releases: new Map([[RELEASE, { ...info, version: '4.18.2' }]]) });
    expect(problems).toContainEqual({
      code: 'E_TRUST_MISMATCH',
      digest: RELEASE,
      message: 'bundle.json says release 4.18.1, its signed payload says 4.18.2',
    });
  });

  it('a component whose source in bundle.json differs from image-references is E_TRUST_MISMATCH', () => {
    const t = input();
    const images = t.index.images.map((i) =>
      i.name === 'cli' ? { ...i, source: 'evil.example.com/x/y' } : i,
    );
    const { problems } = run({ ...t, index: { ...t.index, images } });
    expect(problems).toContainEqual({
      code: 'E_TRUST_MISMATCH',
      digest: COMPONENT,
      message: `image cli: bundle.json says it comes from evil.example.com/x/y, the signed image-references say ${SOURCE}`,
    });
  });

  it('an entry no signed image reaches is unanchored even if it sits in the release repository', () => {
    const stray = `v2/${REPO}/blobs/${d('7')}`;
    const t = input();
    const { report, problems } = run({
      ...t,
      index: { ...t.index, entries: [...t.index.entries, file(stray)] },
    });
    expect(anchorOf(report, stray)).toBe('none');
    expect(problems).toContainEqual({
      code: 'E_UNANCHORED',
      entry: stray,
      message: `${stray} is not reached from any signed image and bundle.json is not signed by a key in --index-keyring`,
    });
  });

  it('walks a manifest list to its children, their config and layers', () => {
    const child = d('5');
    const childLayer = d('6');
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          {
            mediaType: MEDIA_TYPES.ociManifest,
            digest: child,
            size: 3,
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      }),
    );
    const t = input();
    const bytes = new Map<string, Buffer>([
      [`v2/${REPO}/blobs/${RELEASE}`, list],
      [`v2/${REPO}/blobs/${child}`, imageManifest(RELEASE_CONFIG, [childLayer])],
    ]);
    const entries = [
      ...t.index.entries,
      file(`v2/${REPO}/blobs/${child}`),
      file(`v2/${REPO}/blobs/${childLayer}`),
    ];
    const { report } = run({
      ...t,
      index: { ...t.index, entries },
      manifestBytes: (p) => bytes.get(p) ?? t.manifestBytes(p),
    });
    expect(report.items.some((i) => i.name.endsWith(child) || i.name.endsWith(childLayer))).toBe(false);
  });

  it('walks nested lists at most four levels below a root: deeper manifests are not reached', () => {
    const t = input();
    const chain = [d('5'), d('6'), d('7'), d('4'), d('3'), d('2')];
    const listOf = (child: string): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.ociIndex,
          manifests: [{ mediaType: MEDIA_TYPES.ociIndex, digest: child, size: 1 }],
        }),
      );
    // RELEASE → 5 → 6 → 7 → 4 → 3 → 2: each a list naming the next.
    const bytes = new Map<string, Buffer>([[`v2/${REPO}/blobs/${RELEASE}`, listOf(chain[0] ?? '')]]);
    chain.forEach((c, i) => bytes.set(`v2/${REPO}/blobs/${c}`, listOf(chain[i + 1] ?? d('1'))));
    const entries = [...t.index.entries, ...chain.map((c) => file(`v2/${REPO}/blobs/${c}`))];
    const { report } = run({
      ...t,
      index: { ...t.index, entries },
      manifestBytes: (p) => bytes.get(p) ?? t.manifestBytes(p),
    });
    const unreached = report.items
      .filter((i) => i.anchor === 'none' && i.name.startsWith(`v2/${REPO}/blobs/`))
      .map((i) => i.name);
    // Depths 1-4 (5, 6, 7, 4) are reached; 3 (depth 5) and 2 (depth 6) are not (nor the
    // release's old layer, which the list no longer names).
    expect(unreached).toEqual([
      `v2/${REPO}/blobs/${RELEASE_LAYER}`,
      `v2/${REPO}/blobs/${d('3')}`,
      `v2/${REPO}/blobs/${d('2')}`,
    ]);
  });

  it('a manifest that does not parse is E_MANIFEST_INVALID naming its entry, and its blobs stay unreached', () => {
    const t = input();
    const bad = `v2/${REPO}/blobs/${COMPONENT}`;
    const { report, problems } = run({
      ...t,
      manifestBytes: (p) => (p === bad ? Buffer.from('{not json') : t.manifestBytes(p)),
    });
    expect(problems).toContainEqual(
      expect.objectContaining({
        code: 'E_MANIFEST_INVALID',
        entry: bad,
        message: expect.stringContaining(bad) as string,
      }),
    );
    expect(anchorOf(report, `v2/${REPO}/blobs/${COMPONENT_LAYER}`)).toBe('none');
  });

  it('anchors the graph-data image and its signature image by the graph-data signature; a moved graph-data tag is a mismatch', () => {
    const G = d('3');
    const GS = d('4');
    const gRepo = 'openshift/graph-data';
    const t = input(
      {
        signed: new Map([
          [RELEASE, { kind: 'release', identities: ['quay.io/x/release:4.18.1-x86_64'], keyIds: ['K'] }],
          [G, { kind: 'graph-data', identities: ['quay.io/openshift/graph-data:1.0'], keyIds: ['K'] }],
        ]),
      },
      {},
    );
    const index: BundleIndex = {
      ...t.index,
      graphData: {
        revision: 'r',
        digest: G,
        source: 'quay.io/openshift/graph-data',
        repository: gRepo,
        tag: '1.0',
        signatureTag: 'sha256-x.sig',
        signatureDigest: GS,
        signatures: [],
      },
      images: [
        ...t.index.images,
        {
          name: 'graph-data',
          source: 'quay.io/openshift/graph-data',
          repository: gRepo,
          digest: G,
          mediaType: MEDIA_TYPES.ociManifest,
          size: 1,
          tags: ['1.0'],
        },
        {
          name: 'graph-data-signature',
          source: 'quay.io/openshift/graph-data',
          repository: gRepo,
          digest: GS,
          mediaType: MEDIA_TYPES.ociManifest,
          size: 1,
          tags: [],
        },
      ],
      entries: [...t.index.entries, tag(gRepo, '1.0', G), tag(gRepo, 'sha256-x.sig', EXTRA)],
    };
    const { report, problems } = run({ ...t, index });
    expect(anchorOf(report, `${gRepo}@${G}`)).toBe('graph-data-signature');
    expect(anchorOf(report, `${gRepo}@${GS}`)).toBe('graph-data-signature');
    expect(anchorOf(report, `${gRepo}:1.0`)).toBe('graph-data-signature');
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'E_TRUST_MISMATCH', entry: `v2/${gRepo}/manifests/sha256-x.sig` }),
    );
  });

  it('a Sigstore artifact is anchored only through a signed image in the same repository', () => {
    const SIG = d('2');
    const SIG_LAYER = d('1');
    const t = input();
    const bytes = new Map([[`v2/${REPO}/blobs/${SIG}`, imageManifest(SIG_LAYER, [SIG_LAYER])]]);
    const sigTag = `sha256-${'e'.repeat(64)}.sig`;
    const entries = [
      ...t.index.entries,
      file(`v2/${REPO}/blobs/${SIG}`),
      file(`v2/${REPO}/blobs/${SIG_LAYER}`),
      tag(REPO, sigTag, SIG),
    ];
    const withSig = (signs: string, repository = REPO): TrustInput => ({
      ...t,
      index: { ...t.index, entries },
      manifestBytes: (p) => bytes.get(p) ?? t.manifestBytes(p),
      sigstore: new Map([[`${repository}@${SIG}`, { repository, tag: sigTag, signs, by: 'cosign key K' }]]),
    });
    // Signs the signed component: anchored, its payload reached.
    const good = run(withSig(COMPONENT));
    const aboutSig = (ps: Problem[]): Problem[] =>
      ps.filter((p) => (p.entry ?? '').startsWith(`v2/${REPO}/`));
    expect(aboutSig(good.problems)).toEqual([]);
    expect(anchorOf(good.report, `${REPO}:${sigTag}`)).toBe('release-signature');
    expect(good.report.items.find((i) => i.name === `${REPO}:${sigTag}`)?.by).toMatch(
      /^cosign key K \(signs image-references of /,
    );
    // Signs an image the chain does not anchor: the artifact is unanchored.
    const bad = run(withSig(EXTRA));
    expect(bad.problems).toContainEqual(
      expect.objectContaining({ code: 'E_UNANCHORED', entry: `v2/${REPO}/blobs/${SIG_LAYER}` }),
    );
    // A signed digest, but named in another repository: not anchored here.
    const other = run(withSig(COMPONENT, 'extra/tool'));
    expect(other.problems).toContainEqual(
      expect.objectContaining({ code: 'E_UNANCHORED', entry: `v2/${REPO}/manifests/${sigTag}` }),
    );
  });

  it('cluster objects are anchored by their own verified signatures, else like everything else', () => {
    const t = input({
      clusterFiles: [
        {
          path: 'config/signature-sha256-a.json',
          verifiedSignatures: true,
          objects: [{ kind: 'ConfigMap', namespace: 'openshift-config-managed', name: 'sha256-a' }],
        },
        { path: 'manifests/extra.yaml', verifiedSignatures: false, objects: [] },
      ],
    });
    const { report, problems } = run(t);
    expect(
      anchorOf(report, 'ConfigMap openshift-config-managed/sha256-a (config/signature-sha256-a.json)'),
    ).toBe('release-signature');
    expect(anchorOf(report, '(no object)  (manifests/extra.yaml)')).toBe('none');
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'E_UNANCHORED', entry: 'manifests/extra.yaml' }),
    );
  });

  describe('grammar of what is printed and put into commands', () => {
    const invalid = (index: Partial<BundleIndex>): string[] =>
      run(input({ allowUnsigned: true }, index))
        .problems.filter((p) => p.code === 'E_BUNDLE_INVALID')
        .map((p) => p.message);
    const rel = input().index.releases[0];
    if (!rel) throw new Error('fixture');

    it('accepts the fixture', () => {
      expect(invalid({})).toEqual([]);
    });
    it('refuses a version that is not x.y.z[-pre][+build]', () => {
      expect(invalid({ releases: [{ ...rel, version: '4.18.1; rm -rf /' }] })).toEqual([
        'release version "4.18.1; rm -rf /" is not a version (x.y.z[-pre][+build])',
      ]);
    });
    it('refuses an unknown architecture or an invalid tag', () => {
      expect(invalid({ releases: [{ ...rel, architecture: 'sparc' }] })).toHaveLength(1);
      expect(invalid({ releases: [{ ...rel, tag: 'bad tag' }] })[0]).toMatch(/release tag "bad tag"/);
    });
    it('refuses an image tag that is not a tag, and a source that names a whole registry', () => {
      const img = input().index.images[2];
      if (!img) throw new Error('fixture');
      expect(invalid({ images: [{ ...img, tags: ['$(x)'] }] })).toEqual([
        `image "extra" has an invalid tag "$(x)"`,
      ]);
      expect(invalid({ images: [{ ...img, source: 'example.com' }] })[0]).toMatch(
        /source "example.com" is not <registry>\/<repository>/,
      );
    });
  });
});
