/**
 * Per tagged image of an unpack --to: is it in the mirror already, and which of its
 * blobs are still to push (src/workflows/unpack/image-status.ts), from plain data: the
 * destination state as check-destination found it and the bundle's verified manifests.
 */
import { describe, expect, it } from 'vitest';
import type { DestinationState } from '../../../src/workflows/unpack/check-destination.js';
import { imageStatus } from '../../../src/workflows/unpack/image-status.js';
import type { RepoContent } from '../../../src/workflows/unpack/repositories.js';
import { makeTinyImage, sha256 } from '../../helpers/tiny-image.js';

const amd = makeTinyImage(111, { layers: 2 });
const arm = makeTinyImage(112);
const index = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [amd, arm].map((i) => ({
      mediaType: i.manifest.mediaType,
      digest: i.manifest.digest,
      size: i.manifest.size,
    })),
  }),
);
const INDEX = sha256(index);

const manifests = new Map([
  [amd.manifest.digest, amd.manifest.bytes],
  [arm.manifest.digest, arm.manifest.bytes],
  [INDEX, index],
]);
const source = (_repository: string, digest: string) => manifests.get(digest);

const blobPath = (digest: string) => `v2/app/blobs/${digest}`;

function repo(tags: { tag: string; digest: string }[]): RepoContent {
  return {
    repository: 'app',
    dest: { registry: 'mirror:5000', repository: 'ocp4/app' },
    blobs: [],
    blobDigest: new Map(),
    manifests: [],
    tags,
  };
}

function state(
  missing: { digest: string; size: number }[],
  present: { manifests?: string[]; tags?: string[] } = {},
): DestinationState {
  const r = repo([]);
  return {
    present: new Map(),
    missing: new Map(
      missing.map((m) => [
        blobPath(m.digest),
        { repo: r, entry: { path: blobPath(m.digest), type: 'file', size: m.size }, digest: m.digest },
      ]),
    ),
    manifestPresent: new Set(present.manifests ?? []),
    tagPresent: new Set(present.tags ?? []),
    blobsPresent: 0,
  };
}

describe('imageStatus', () => {
  it('an image whose blobs are partly missing: counts and bytes to push, not present', () => {
    const layer = amd.layers[1]!;
    const [s] = imageStatus(
      [repo([{ tag: 'v1', digest: amd.manifest.digest }])],
      state([{ digest: layer.digest, size: layer.size }]),
      source,
    );
    expect(s).toEqual({
      repository: 'app',
      destination: 'mirror:5000/ocp4/app',
      digest: amd.manifest.digest,
      tags: ['v1'],
      blobsPresent: 2, // config and the first layer
      blobsToPush: 1,
      bytesToPush: layer.size,
      manifestPresent: false,
    });
  });

  it('an index counts the blobs of every child; tags of one digest are grouped', () => {
    const [s] = imageStatus(
      [
        repo([
          { tag: 'multi', digest: INDEX },
          { tag: 'latest', digest: INDEX },
        ]),
      ],
      state([{ digest: arm.config.digest, size: arm.config.size }]),
      source,
    );
    expect(s).toMatchObject({
      tags: ['multi', 'latest'],
      blobsPresent: 3 + 2 - 1,
      blobsToPush: 1,
      bytesToPush: arm.config.size,
    });
  });

  it('present only when the manifest and every tag already are', () => {
    const tags = [
      { tag: 'a', digest: amd.manifest.digest },
      { tag: 'b', digest: amd.manifest.digest },
    ];
    const m = `ocp4/app@${amd.manifest.digest}`;
    const run = (p: { manifests?: string[]; tags?: string[] }) =>
      imageStatus([repo(tags)], state([], p), source)[0]?.manifestPresent;
    expect(run({ manifests: [m], tags: ['ocp4/app:a', 'ocp4/app:b'] })).toBe(true);
    expect(run({ manifests: [m], tags: ['ocp4/app:a'] })).toBe(false);
    expect(run({ tags: ['ocp4/app:a', 'ocp4/app:b'] })).toBe(false);
  });

  it('a manifest the bundle does not have: blobs not counted (unknown), nothing claimed to push', () => {
    const unknown = `sha256:${'9'.repeat(64)}`;
    const [s] = imageStatus([repo([{ tag: 'x', digest: unknown }])], state([]), source);
    expect(s).not.toHaveProperty('blobsPresent');
    expect(s).toMatchObject({ blobsToPush: 0, bytesToPush: 0 });
  });

  it('a missing blob of another repository does not count for this one', () => {
    const layer = amd.layers[0]!;
    const s = state([]);
    s.missing.set(`v2/other/blobs/${layer.digest}`, {
      repo: repo([]),
      entry: { path: `v2/other/blobs/${layer.digest}`, type: 'file', size: layer.size },
      digest: layer.digest,
    });
    const [status] = imageStatus([repo([{ tag: 'v1', digest: amd.manifest.digest }])], s, source);
    expect(status).toMatchObject({ blobsToPush: 0, blobsPresent: 3 });
  });

  it('untagged content is not listed', () => {
    expect(imageStatus([repo([])], state([]), source)).toEqual([]);
  });
});
