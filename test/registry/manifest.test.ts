import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import {
  ACCEPT_MANIFESTS,
  MEDIA_TYPES,
  parseImageConfig,
  parseManifest,
} from '../../src/registry/manifest.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

const image = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.dockerManifest,
  config: { mediaType: MEDIA_TYPES.dockerConfig, digest: D('a'), size: 10 },
  layers: [{ mediaType: MEDIA_TYPES.dockerLayerGzip, digest: D('b'), size: 20 }],
};
const index = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociIndex,
  manifests: [
    {
      mediaType: MEDIA_TYPES.ociManifest,
      digest: D('c'),
      size: 30,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
  ],
  annotations: { 'org.opencontainers.image.ref.name': 'x' },
};

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isBaleError(err) ? err.code : 'not a BaleError';
  }
  return undefined;
}

describe('parseManifest', () => {
  it('parses an image manifest and an index', () => {
    const m = parseManifest(json(image));
    expect(m).toEqual({
      kind: 'image',
      mediaType: MEDIA_TYPES.dockerManifest,
      config: image.config,
      layers: image.layers,
      manifests: [],
    });
    const i = parseManifest(json(index), `${MEDIA_TYPES.ociIndex}; charset=utf-8`);
    expect(i.kind).toBe('index');
    expect(i.manifests[0]?.platform).toEqual({ architecture: 'arm64', os: 'linux', variant: 'v8' });
    expect(i.labels).toEqual({ 'org.opencontainers.image.ref.name': 'x' });
  });

  it('sniffs when neither hint nor mediaType says', () => {
    const { mediaType: _a, ...bareIndex } = index;
    const { mediaType: _b, ...bareImage } = image;
    expect(parseManifest(json(bareIndex)).mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(parseManifest(json(bareImage)).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parseManifest(json(bareImage), 'application/json').mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parseManifest(json(bareIndex), MEDIA_TYPES.dockerList).kind).toBe('index');
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['an array', json([])],
    ['schema 1', json({ schemaVersion: 1, fsLayers: [] })],
    ['schemaVersion 3', json({ ...image, schemaVersion: 3 })],
    ['a bad digest', json({ ...image, layers: [{ mediaType: 'x', digest: 'sha256:abc', size: 1 }] })],
    ['a negative size', json({ ...image, config: { ...image.config, size: -1 } })],
    ['a fractional size', json({ ...image, config: { ...image.config, size: 1.5 } })],
    ['no config', json({ ...image, config: undefined })],
    ['layers not an array', json({ ...image, layers: {} })],
    [
      'a platform without os',
      json({ ...index, manifests: [{ ...index.manifests[0], platform: { architecture: 'x' } }] }),
    ],
    ['an unknown media type', json({ ...image, mediaType: 'application/vnd.example+json' })],
    ['neither layers nor manifests', json({ schemaVersion: 2 })],
    ['non-string annotations', json({ ...index, annotations: { a: 1 } })],
  ])('rejects %s with E_MANIFEST_INVALID', (_what, bytes) => {
    expect(code(() => parseManifest(bytes))).toBe('E_MANIFEST_INVALID');
  });

  it('rejects a hint that contradicts the body, and schema 1 by hint', () => {
    expect(code(() => parseManifest(json(image), MEDIA_TYPES.ociManifest))).toBe('E_MANIFEST_INVALID');
    expect(code(() => parseManifest(json(image), MEDIA_TYPES.dockerSchema1Signed))).toBe(
      'E_MANIFEST_INVALID',
    );
  });

  it('accepts the four manifest types and not schema 1', () => {
    expect(ACCEPT_MANIFESTS.split(', ')).toEqual([
      MEDIA_TYPES.ociIndex,
      MEDIA_TYPES.ociManifest,
      MEDIA_TYPES.dockerList,
      MEDIA_TYPES.dockerManifest,
    ]);
  });
});

describe('parseImageConfig', () => {
  it('reads labels and platform', () => {
    const c = parseImageConfig(
      json({ architecture: 'amd64', os: 'linux', config: { Labels: { 'io.openshift.release': '4.18.1' } } }),
    );
    expect(c).toEqual({ architecture: 'amd64', os: 'linux', labels: { 'io.openshift.release': '4.18.1' } });
    expect(parseImageConfig(json({ config: { Labels: null } })).labels).toEqual({});
    expect(code(() => parseImageConfig(Buffer.from('x')))).toBe('E_MANIFEST_INVALID');
  });
});
