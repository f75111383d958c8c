/**
 * Shared set-up for the unpack tests: a fixture release packed once per test file with
 * the compiled CLI, and an independent check (skopeo) that a mirror holds every image
 * of the bundle byte for byte.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { runBale, type BaleRun } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import type { TestRegistry } from '../../helpers/registry.js';
import { registryFlags, skopeo, skopeoInspectRaw } from '../../helpers/skopeo.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

export interface PackedBundle {
  setup: FixtureSetup;
  bundleDir: string;
  index: BundleIndex;
  keyring: string;
}

/** A plain source registry with the fixture release, packed by `bale pack` into `<work>/bundle`. */
export async function packFixture(seed: number): Promise<PackedBundle> {
  const setup = await setupFixture({ seed });
  const bundleDir = join(setup.work, 'bundle');
  const r = await runBale([...setup.packArgs(), '--to', bundleDir, '--quiet']);
  if (r.code !== 0) {
    await setup.stop();
    throw new Error(`bale pack failed (${r.code}): ${r.stderr}`);
  }
  const index = await readBundleJson(bundleDir);
  return { setup, bundleDir, index, keyring: setup.fx.keyringPath };
}

export function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Parses stdout as exactly one JSON document (fails the test otherwise). */
export function oneJson<T = Record<string, unknown>>(r: BaleRun): T {
  const text = r.stdout.trim();
  expect(
    text.startsWith('{') && text.endsWith('}'),
    `stdout is one JSON object: ${r.stdout.slice(0, 300)}`,
  ).toBe(true);
  return JSON.parse(text) as T;
}

/** `<prefix>/<repository>` in the mirror, as a reference relative to `reg`. */
function mirrorRepo(prefix: string, repository: string): string {
  return prefix ? `${prefix}/${repository}` : repository;
}

/**
 * The mirror holds every image of the bundle by digest with the same manifest bytes, all
 * its blobs (skopeo copies each image, every child of a list included, and checks every
 * digest on the way), and each tag resolves to the image's digest.
 */
export async function expectMirrorComplete(
  reg: TestRegistry,
  prefix: string,
  index: BundleIndex,
): Promise<void> {
  const out = await makeTempDir('bale-mirror-check-');
  try {
    let n = 0;
    for (const img of index.images) {
      const repo = mirrorRepo(prefix, img.repository);
      const raw = await skopeoInspectRaw(`${repo}@${img.digest}`, reg);
      expect(sha256(raw), `${repo}@${img.digest}`).toBe(img.digest);
      for (const tag of img.tags) {
        const tagged = await skopeoInspectRaw(`${repo}:${tag}`, reg);
        expect(sha256(tagged), `${repo}:${tag}`).toBe(img.digest);
      }
      const r = await skopeo([
        'copy',
        '--all',
        '--retry-times',
        '0',
        ...registryFlags(reg, 'src'),
        `docker://${reg.host}/${repo}@${img.digest}`,
        `dir:${join(out, String(n++))}`,
      ]);
      expect(r.code, `skopeo copy --all ${repo}@${img.digest}: ${r.stderr}`).toBe(0);
      // Index children are there by digest too.
      for (const child of img.children ?? []) {
        expect(sha256(await skopeoInspectRaw(`${repo}@${child}`, reg))).toBe(child);
      }
    }
    // The graph-data repository came along.
    expect(index.images.some((i) => i.repository === 'openshift/graph-data')).toBe(true);
  } finally {
    await removeTempDir(out);
  }
}

/** True when skopeo can read the release image from the mirror (by digest). */
export async function mirrorHas(
  reg: TestRegistry,
  prefix: string,
  repository: string,
  digest: string,
): Promise<boolean> {
  const r = await skopeo([
    'inspect',
    '--raw',
    ...registryFlags(reg, ''),
    `docker://${reg.host}/${mirrorRepo(prefix, repository)}@${digest}`,
  ]);
  return r.code === 0;
}

/** Every regular file under the registry's storage (none when nothing was ever pushed). */
export async function storedFiles(reg: TestRegistry): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else found.push(r);
    }
  };
  await walk(reg.storageDir, '');
  return found;
}
