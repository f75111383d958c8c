/**
 * The promoter's plan for an image set (src/sets/plan-images.ts `planWith`), with the
 * caller's clients: images in a real source registry, a real destination registry
 * under a prefix, or a snapshot file of it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/progress.js';
import { RegistryClient } from '../../src/registry/client.js';
import { ImageSet } from '../../src/sets/inventory.js';
import { planWith, type PlanOptions } from '../../src/sets/plan-images.js';
import { renderSnapshotYaml, snapshotFromSet } from '../../src/sets/snapshot-document.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import type { TinyImage } from '../helpers/tiny-image.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const ABSENT = `sha256:${'0'.repeat(64)}`;

let src: TestRegistry;
let dst: TestRegistry;
let client: RegistryClient;
let tmp: string;
let kept: TinyImage;
let fresh: TinyImage;
let base: PlanOptions;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry({ auth: 'none' }), startRegistry({ auth: 'none' })]);
  client = new RegistryClient({ retry: { attempts: 1 } });
  tmp = await makeTempDir('bale-plan-images-');
  kept = await pushTinyImage(src, 'team/kept:v1', 71, { layerBytes: 4096 });
  fresh = await pushTinyImage(src, 'team/fresh:v2', 72, { layerBytes: 8192 });
  await pushTinyImage(dst, 'mirror/team/kept:v1', 71, { layerBytes: 4096 }); // the destination has it
  base = {
    images: [`${src.host}/team/kept:v1`, `${src.host}/team/fresh:v2`, `${src.host}/team/gone@${ABSENT}`],
    env: {},
    homeDir: tmp,
  };
});
afterAll(async () => {
  await client?.close();
  await src?.stop();
  await dst?.stop();
  if (tmp !== undefined) await removeTempDir(tmp);
});

const target = () => ({ registry: dst.host, prefix: 'mirror' });

describe('planWith', () => {
  it('live destination: present, copy and missing, the blobs to carry, the bundle size and the mapping', async () => {
    const r = await planWith(base, client, client, target(), silentProgress);
    expect(r.destination).toEqual({ kind: 'live', where: `${dst.host}/mirror` });
    expect(r.present.map((e) => [e.name, e.digest, e.tags, e.source])).toEqual([
      ['team/kept', kept.manifest.digest, ['v1'], `${src.host}/team/kept`],
    ]);
    expect(r.copy.map((e) => [e.name, e.digest, e.tags])).toEqual([
      ['team/fresh', fresh.manifest.digest, ['v2']],
    ]);
    expect(r.missing.map((e) => [e.name, e.digest])).toEqual([['team/gone', ABSENT]]);
    const freshBytes = fresh.manifest.size + fresh.config.size + fresh.layers.reduce((n, l) => n + l.size, 0);
    expect(r.blobs.carryBytes).toBe(freshBytes);
    expect(r.blobs.carry).toBe(2 + fresh.layers.length); // manifest, config, layers
    expect(r.bundle.volumeBytes).toBeGreaterThan(r.blobs.carryBytes); // tar headers and padding
    expect(r.bundle.diskNeeded).toBeGreaterThanOrEqual(r.bundle.volumeBytes);
    expect(r.mapping).toEqual([
      `${src.host}/team/fresh@${fresh.manifest.digest}=${dst.host}/mirror/team/fresh:v2`,
    ]);
  });

  it('an untagged copy maps by digest; without a target the mapping names the image alone', async () => {
    const have = join(tmp, 'empty.yaml');
    await writeFile(have, renderSnapshotYaml(snapshotFromSet(new ImageSet())));
    const r = await planWith(
      { ...base, images: [`${src.host}/team/fresh@${fresh.manifest.digest}`], have },
      client,
      undefined,
      undefined,
      silentProgress,
    );
    expect(r.destination).toEqual({ kind: 'snapshot', where: have });
    expect(r.mapping).toEqual([
      `${src.host}/team/fresh@${fresh.manifest.digest}=team/fresh@${fresh.manifest.digest}`,
    ]);
  });

  it('a snapshot holding the images: present, nothing to carry, no mapping', async () => {
    const have = join(tmp, 'full.yaml');
    const set = new ImageSet([
      { name: 'team/kept', digest: kept.manifest.digest, tags: ['v1'] },
      { name: 'team/fresh', digest: fresh.manifest.digest, tags: ['v2'] },
    ]);
    await writeFile(have, renderSnapshotYaml(snapshotFromSet(set)));
    const r = await planWith({ ...base, have }, client, undefined, target(), silentProgress);
    expect(r.present.map((e) => e.name)).toEqual(['team/fresh', 'team/kept']);
    expect(r.copy).toEqual([]);
    expect(r.blobs).toMatchObject({ carry: 0, carryBytes: 0 });
    expect(r.bundle.volumeBytes).toBe(0);
    expect(r.mapping).toEqual([]);
  });

  it('E_USAGE when nothing is named, before any request', async () => {
    const before = client.stats.requests;
    await expect(
      planWith({ env: {}, homeDir: tmp }, client, client, target(), silentProgress),
    ).rejects.toMatchObject({
      code: 'E_USAGE',
      message: 'name the images: --release, --graph-data, --image and/or --config',
    });
    expect(client.stats.requests).toBe(before);
  });

  it('E_CONFIG for an image set with channels or a second release', async () => {
    const config = join(tmp, 'isc.yaml');
    await writeFile(
      config,
      'kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n      - name: stable-4.18\n',
    );
    await expect(
      planWith({ ...base, config }, client, client, target(), silentProgress),
    ).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: 'plan and mirror take one release: --release or mirror.platform.release',
    });
  });
});
