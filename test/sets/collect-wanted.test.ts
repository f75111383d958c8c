/**
 * M and S for plan and mirror (src/sets/collect-wanted.ts), against a real registry
 * holding the synthetic release: the release and its components named as pack names
 * them, graph data with its signature image, extra images, and what the source lacks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { collectManifest, treeSize } from '../../src/registry/manifest-tree.js';
import { parseReference } from '../../src/registry/reference.js';
import { collectWanted, fromTree } from '../../src/sets/collect-wanted.js';
import { silentProgress } from '../../src/progress.js';
import { setupFixture, type FixtureSetup } from '../helpers/fixture-setup.js';
import { pushTinyImage } from '../helpers/skopeo.js';

const ABSENT = `sha256:${'0'.repeat(64)}`;

let fx: FixtureSetup;
let client: RegistryClient;

beforeAll(async () => {
  fx = await setupFixture({ auth: 'none' });
  client = new RegistryClient({ retry: { attempts: 1 } });
}, 120_000);
afterAll(async () => {
  await client?.close();
  await fx?.stop();
});

const extra = (text: string, repository: string, tags: string[]) => ({
  name: text,
  reference: parseReference(text),
  repository,
  tags,
});

describe('collectWanted', () => {
  it('a release: itself and every component under openshift/release with oc’s tags, all found in the source', async () => {
    const { release, components } = fx.fx;
    const w = await collectWanted({ client, release: release.ref, progress: silentProgress });
    expect(w.release).toEqual({
      version: release.version,
      architecture: release.arch,
      digest: release.digest,
    });
    const byDigest = new Map(w.wanted.images().map((i) => [i.digest, i]));
    expect(byDigest.get(release.digest)).toMatchObject({
      name: 'openshift/release',
      tags: [`${release.version}-${release.arch}`],
    });
    for (const c of components) {
      expect(byDigest.get(c.digest)?.tags, c.name).toContain(`${release.version}-${release.arch}-${c.name}`);
    }
    expect(w.wanted.size).toBe(new Set([release.digest, ...components.map((c) => c.digest)]).size);
    expect(w.source.images()).toEqual(w.wanted.images());
    expect(w.origins.get(`openshift/release@${release.digest}`)).toBe(`${fx.reg.host}/${release.repository}`);
    // sizes as pack counts them
    const root = await collectManifest(
      client,
      { registry: fx.reg.host, repository: release.repository },
      release.digest,
    );
    expect(byDigest.get(release.digest)?.bytes).toBe(treeSize(root));
  });

  it('noImages: the release is read (version, digest) but nothing is wanted', async () => {
    const w = await collectWanted({
      client,
      release: fx.fx.release.ref,
      noImages: true,
      progress: silentProgress,
    });
    expect(w.release?.digest).toBe(fx.fx.release.digest);
    expect(w.wanted.size).toBe(0);
  });

  it('graph data: the image and its signature image under openshift/graph-data', async () => {
    const { graphData } = fx.fx;
    const w = await collectWanted({ client, graphData: graphData.ref, progress: silentProgress });
    const images = w.wanted.images();
    expect(images.map((i) => i.name)).toEqual(['openshift/graph-data', 'openshift/graph-data']);
    expect(images.map((i) => i.digest).sort()).toEqual([graphData.digest, graphData.signatureDigest].sort());
    expect(images.find((i) => i.digest === graphData.signatureDigest)?.tags).toEqual([
      graphData.signatureTag,
    ]);
  });

  it('extra images: found ones with sizes; a digest the source lacks stays in M only', async () => {
    const tiny = await pushTinyImage(fx.reg, 'extra/tool:v1', 61);
    const absent = `${fx.reg.host}/extra/absent@${ABSENT}`;
    const w = await collectWanted({
      client,
      images: [
        extra(`${fx.reg.host}/extra/tool:v1`, 'extra/tool', ['v1']),
        extra(absent, 'extra/absent', []),
      ],
      progress: silentProgress,
    });
    expect(w.wanted.images().map((i) => [i.name, i.digest, i.tags])).toEqual([
      ['extra/absent', ABSENT, []],
      ['extra/tool', tiny.manifest.digest, ['v1']],
    ]);
    expect(w.source.has('extra/tool', tiny.manifest.digest)).toBe(true);
    expect(w.source.has('extra/absent', ABSENT)).toBe(false);
    expect(w.wanted.get('extra/tool', tiny.manifest.digest)?.bytes).toBe(
      tiny.manifest.size + tiny.config.size + tiny.layers.reduce((n, l) => n + l.size, 0),
    );
    expect(w.origins.get(`extra/absent@${ABSENT}`)).toBe(`${fx.reg.host}/extra/absent`);
  });

  it('an image by a tag the source lacks is an error, not a missing entry', async () => {
    await expect(
      collectWanted({
        client,
        images: [extra(`${fx.reg.host}/extra/absent:v9`, 'extra/absent', ['v9'])],
        progress: silentProgress,
      }),
    ).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('a release pullspec that is no release image: E_RELEASE_INVALID naming it', async () => {
    const empty = await pushTinyImage(fx.reg, 'not/release:v1', 62, { layers: 0 });
    expect(empty.layers).toHaveLength(0);
    const ref = `${fx.reg.host}/not/release:v1`;
    await expect(collectWanted({ client, release: ref, progress: silentProgress })).rejects.toMatchObject({
      code: 'E_RELEASE_INVALID',
      message: `${ref} is not a release image: it has no config or no layers`,
    });
  });

  it('an aborted signal stops the work', async () => {
    const aborted = new AbortController();
    aborted.abort();
    await expect(
      collectWanted({ client, release: fx.fx.release.ref, progress: silentProgress, signal: aborted.signal }),
    ).rejects.toThrow();
  });
});

describe('fromTree', () => {
  it('every manifest (children first) then every blob, and the tree size', async () => {
    const { release } = fx.fx;
    const root = await collectManifest(
      client,
      { registry: fx.reg.host, repository: release.repository },
      release.digest,
    );
    const e = fromTree('openshift/release', ['t'], root);
    expect(e).toMatchObject({
      name: 'openshift/release',
      digest: release.digest,
      tags: ['t'],
      bytes: treeSize(root),
    });
    expect(e.blobs?.[0]).toEqual({ digest: root.digest, size: root.bytes.length });
    expect(e.blobs?.slice(1).map((b) => b.digest)).toEqual(root.blobs.map((b) => b.digest));
    expect(e.blobs?.reduce((n, b) => n + b.size, 0)).toBe(treeSize(root));
  });
});
