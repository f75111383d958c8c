/** Pulling a manifest tree from a real registry, and walking it: blobs, manifests, size, platform. */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { MEDIA_TYPES } from '../../src/registry/manifest.js';
import {
  collectManifest,
  pickPlatform,
  readSmallBlob,
  treeBlobs,
  treeManifests,
  treeSize,
  type ManifestNode,
} from '../../src/registry/manifest-tree.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import { sha256, type TinyImage } from '../helpers/tiny-image.js';

let reg: TestRegistry;
let client: RegistryClient;
let amd: TinyImage;
let arm: TinyImage;
let index: Buffer;
const repo = () => ({ registry: reg.host, repository: 'tree/app' });

function indexOf(children: { image: TinyImage; arch: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: children.map(({ image, arch }) => ({
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        platform: { architecture: arch, os: 'linux' },
      })),
    }),
  );
}

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  client = new RegistryClient({ retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } });
  amd = await pushTinyImage(reg, 'tree/app:amd64', 41, { layers: 2, architecture: 'amd64' });
  arm = await pushTinyImage(reg, 'tree/app:arm64', 42, { architecture: 'arm64' });
  // arm64 listed twice (two variants pointing at one manifest): walks must count it once
  index = indexOf([
    { image: amd, arch: 'amd64' },
    { image: arm, arch: 'arm64' },
    { image: arm, arch: 'arm64' },
  ]);
  await client.putManifest(repo(), 'list', index, MEDIA_TYPES.ociIndex);
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
});

describe('collectManifest', () => {
  it('an image manifest: its bytes, config first, then the layers in order', async () => {
    const node = await collectManifest(client, repo(), 'amd64');
    expect(node.digest).toBe(amd.manifest.digest);
    expect(node.bytes.equals(amd.manifest.bytes)).toBe(true);
    expect(node.children).toEqual([]);
    expect(node.blobs.map((b) => b.digest)).toEqual([amd.config.digest, ...amd.layers.map((l) => l.digest)]);
  });

  it('an index: every child pulled whole, by digest, in the index order', async () => {
    const node = await collectManifest(client, repo(), 'list');
    expect(node.digest).toBe(sha256(index));
    expect(node.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(node.blobs).toEqual([]);
    expect(node.children.map((c) => c.digest)).toEqual([
      amd.manifest.digest,
      arm.manifest.digest,
      arm.manifest.digest,
    ]);
  });

  it('E_NOT_FOUND naming the tag and repository', async () => {
    await expect(collectManifest(client, repo(), 'absent')).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: expect.stringContaining(`manifest (tag absent) in ${reg.host}/tree/app`),
    });
  });
});

describe('walking a tree', () => {
  it('treeBlobs: first appearance first, each digest once', async () => {
    const node = await collectManifest(client, repo(), 'list');
    expect(treeBlobs(node).map((b) => b.digest)).toEqual([
      amd.config.digest,
      ...amd.layers.map((l) => l.digest),
      arm.config.digest,
      ...arm.layers.map((l) => l.digest),
    ]);
  });

  it('treeManifests: children before their parent', async () => {
    const node = await collectManifest(client, repo(), 'list');
    expect(treeManifests(node).map((m) => m.digest)).toEqual([
      amd.manifest.digest,
      arm.manifest.digest,
      arm.manifest.digest,
      node.digest,
    ]);
  });

  it('treeSize: manifests, configs and layers, each digest counted once', async () => {
    const node = await collectManifest(client, repo(), 'list');
    const blobs = [amd.config, ...amd.layers, arm.config, ...arm.layers].reduce((n, b) => n + b.size, 0);
    expect(treeSize(node)).toBe(index.length + amd.manifest.size + arm.manifest.size + blobs);
  });

  it('pickPlatform: the child for the architecture, else the first; an image is itself', async () => {
    const node = await collectManifest(client, repo(), 'list');
    expect(pickPlatform(node, 'arm64').digest).toBe(arm.manifest.digest);
    expect(pickPlatform(node).digest).toBe(amd.manifest.digest);
    expect(pickPlatform(node, 's390x').digest).toBe(amd.manifest.digest);
    const image = node.children[0]!;
    expect(pickPlatform(image, 'arm64')).toBe(image);
  });

  it('pickPlatform: a list with no children pulled is taken as it is', () => {
    const empty = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }),
    );
    const orphan: ManifestNode = {
      digest: sha256(empty),
      mediaType: MEDIA_TYPES.ociIndex,
      bytes: empty,
      blobs: [],
      children: [],
    };
    expect(pickPlatform(orphan)).toBe(orphan);
  });
});

describe('readSmallBlob', () => {
  it('reads a config whole from the registry, or through the given opener', async () => {
    const got = await readSmallBlob(client, repo(), amd.config);
    expect(got.equals(amd.config.bytes)).toBe(true);
    const opened: string[] = [];
    const viaOpener = await readSmallBlob(client, repo(), amd.config, async (_src, desc) => {
      opened.push(desc.digest);
      return Readable.from([Buffer.from('staged copy')]);
    });
    expect(viaOpener.toString()).toBe('staged copy');
    expect(opened).toEqual([amd.config.digest]);
  });

  it('E_TOO_LARGE above 8 MiB, before reading anything, naming the config and the image', async () => {
    let opened = false;
    const desc = { mediaType: amd.config.mediaType, digest: amd.config.digest, size: 8 * 1024 * 1024 + 1 };
    const err = await readSmallBlob(client, repo(), desc, async () => {
      opened = true;
      return Readable.from([]);
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_TOO_LARGE',
      message: `config ${amd.config.digest} of ${reg.host}/tree/app is ${8 * 1024 * 1024 + 1} bytes`,
    });
    expect(opened).toBe(false);
    // exactly 8 MiB is allowed through
    const ok = await readSmallBlob(client, repo(), { ...desc, size: 8 * 1024 * 1024 }, async () =>
      Readable.from([Buffer.from('x')]),
    );
    expect(ok.toString()).toBe('x');
  });
});
