/**
 * The base of an incremental bundle (src/workflows/unpack/check-base.ts): every blob it
 * relies on checked where the base says it is, in a real registry (HEAD, then mounts)
 * or in a --base-dir layout (regular files whose bytes hash to the digest), before
 * anything is pushed or written.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobEntryPath } from '../../../src/bundle/entry-path.js';
import type { BundleBase, BundleIndex } from '../../../src/bundle/index-schema.js';
import { silentProgress } from '../../../src/progress.js';
import { RegistryClient } from '../../../src/registry/client.js';
import {
  baseFile,
  checkBaseInDir,
  checkBaseInRegistry,
  completeFromBaseDir,
} from '../../../src/workflows/unpack/check-base.js';
import { ConfinedDirWriter } from '../../../src/workflows/unpack/dir-writer.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { pushTinyImage } from '../../helpers/skopeo.js';
import { sha256, type TinyImage } from '../../helpers/tiny-image.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const ABSENT = `sha256:${'0'.repeat(64)}`;

let reg: TestRegistry;
let client: RegistryClient;
let image: TinyImage;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  client = new RegistryClient({ retry: { attempts: 1 } });
  image = await pushTinyImage(reg, 'ocp4/openshift/release:base', 91);
  tmp = await makeTempDir('bale-check-base-');
});
afterAll(async () => {
  await client?.close();
  await reg?.stop();
  if (tmp !== undefined) await removeTempDir(tmp);
});

const baseOf = (digests: BundleBase['digests']): BundleBase => ({
  kind: 'snapshot',
  file: 'mirror.yaml',
  sha256: 'c'.repeat(64),
  created: '2026-11-01T00:00:00Z',
  digests,
});
const indexWith = (base?: BundleBase): BundleIndex =>
  ({ ...(base ? { base } : {}) }) as unknown as BundleIndex;
const dest = () => ({ registry: reg.host, prefix: 'ocp4' });

describe('checkBaseInRegistry', () => {
  it('a full bundle has nothing to check', async () => {
    const o = { client, dest: dest(), concurrency: 2, dryRun: false, progress: silentProgress };
    expect(await checkBaseInRegistry({ ...o, index: indexWith() })).toBeUndefined();
  });

  it('every base blob present: counted; mountTo repositories get it by a cross-repository mount', async () => {
    const layer = image.layers[0]!;
    const index = indexWith(
      baseOf([
        { digest: image.config.digest, repository: 'openshift/release', size: image.config.size },
        { digest: layer.digest, repository: 'openshift/release', size: layer.size, mountTo: ['team/tool'] },
      ]),
    );
    const o = { index, client, dest: dest(), concurrency: 2, progress: silentProgress };
    const target = { registry: reg.host, repository: 'ocp4/team/tool' };
    expect(await checkBaseInRegistry({ ...o, dryRun: true })).toEqual({ present: 2, mounted: 0 });
    expect(await client.blobExists(target, layer.digest)).toBe(false); // a dry run mounts nothing
    expect(await checkBaseInRegistry({ ...o, dryRun: false })).toEqual({ present: 2, mounted: 1 });
    expect(await client.blobExists(target, layer.digest)).toBe(true);
  });

  it('a missing base blob: E_BASE_MISSING naming it and the base, nothing mounted', async () => {
    const index = indexWith(
      baseOf([
        { digest: image.config.digest, repository: 'openshift/release', mountTo: ['team/other'] },
        { digest: ABSENT, repository: 'openshift/release' },
      ]),
    );
    const err = await checkBaseInRegistry({
      index,
      client,
      dest: dest(),
      concurrency: 2,
      dryRun: false,
      progress: silentProgress,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_BASE_MISSING',
      message: `this incremental bundle relies on 1 blob(s) ${reg.host} lacks (base: snapshot mirror.yaml (sha256 ${'c'.repeat(64)}, created 2026-11-01T00:00:00Z)): ocp4/openshift/release@${ABSENT}`,
      hint: expect.stringMatching(
        /^Nothing was pushed or written\. Unpack the bundle \(or snapshot\) the base names into .*\/ocp4 first/,
      ),
      details: {
        base: { kind: 'snapshot', file: 'mirror.yaml', sha256: 'c'.repeat(64) },
        missing: [`ocp4/openshift/release@${ABSENT}`],
      },
    });
    expect(
      await client.blobExists({ registry: reg.host, repository: 'ocp4/team/other' }, image.config.digest),
    ).toBe(false);
  });

  it('more than ten missing: the first ten, sorted, and how many more', async () => {
    const digests = Array.from({ length: 12 }, (_, i) => ({
      digest: `sha256:${i.toString(16).padStart(2, '0').repeat(32)}`,
      repository: 'openshift/release',
    }));
    const err = await checkBaseInRegistry({
      index: indexWith(baseOf(digests)),
      client,
      dest: dest(),
      concurrency: 4,
      dryRun: true,
      progress: silentProgress,
    }).then(
      () => undefined,
      (e: unknown) => e as Error & { details: { missing: string[] } },
    );
    expect(err?.message).toMatch(/ and 2 more$/);
    expect(err?.details.missing).toHaveLength(12);
    expect(err?.details.missing).toEqual([...(err?.details.missing ?? [])].sort());
  });
});

describe('--base-dir', () => {
  const bytes = Buffer.from('a base layer');
  const digest = sha256(bytes);

  async function layout(name: string): Promise<string> {
    const dir = join(tmp, name);
    const path = join(dir, blobEntryPath('openshift/release', digest));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    return dir;
  }

  it('checkBaseInDir: E_USAGE without --base-dir, naming the base', async () => {
    const index = indexWith(baseOf([{ digest, repository: 'openshift/release' }]));
    await expect(checkBaseInDir(index, undefined)).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('--to-dir needs --base-dir'),
      hint: expect.stringContaining('Nothing was written'),
    });
    await expect(checkBaseInDir(indexWith(), undefined)).resolves.toBeUndefined();
  });

  it('checkBaseInDir: passes with the right bytes; E_BASE_MISSING for wrong bytes or a wrong size', async () => {
    const dir = await layout('good');
    await expect(
      checkBaseInDir(
        indexWith(baseOf([{ digest, repository: 'openshift/release', size: bytes.length }])),
        dir,
      ),
    ).resolves.toBeUndefined();
    await expect(
      checkBaseInDir(
        indexWith(baseOf([{ digest, repository: 'openshift/release', size: bytes.length + 1 }])),
        dir,
      ),
    ).rejects.toMatchObject({
      code: 'E_BASE_MISSING',
      details: { missing: [`openshift/release@${digest}`] },
    });
    const bad = await layout('bad');
    await writeFile(join(bad, blobEntryPath('openshift/release', digest)), 'other bytes!');
    await expect(
      checkBaseInDir(indexWith(baseOf([{ digest, repository: 'openshift/release' }])), bad),
    ).rejects.toMatchObject({
      code: 'E_BASE_MISSING',
      message: expect.stringContaining(`--base-dir ${bad} lacks`),
    });
  });

  it('baseFile: found under a mountTo repository too; never through a symbolic link', async () => {
    const dir = await layout('mounted');
    expect(await baseFile(dir, { digest, repository: 'team/absent', mountTo: ['openshift/release'] })).toBe(
      join(dir, blobEntryPath('openshift/release', digest)),
    );
    // a linked blob file
    const linked = join(tmp, 'linked');
    const linkPath = join(linked, blobEntryPath('openshift/release', digest));
    await mkdir(dirname(linkPath), { recursive: true });
    await symlink(join(dir, blobEntryPath('openshift/release', digest)), linkPath);
    expect(await baseFile(linked, { digest, repository: 'openshift/release' })).toBeUndefined();
    // a linked blobs directory
    const linkedDir = join(tmp, 'linked-dir');
    await mkdir(join(linkedDir, 'v2/openshift/release'), { recursive: true });
    await symlink(join(dir, 'v2/openshift/release/blobs'), join(linkedDir, 'v2/openshift/release/blobs'));
    expect(await baseFile(linkedDir, { digest, repository: 'openshift/release' })).toBeUndefined();
  });

  it('completeFromBaseDir copies each base blob where the bundle needs it, once', async () => {
    const base = await layout('complete-base');
    const to = join(tmp, 'complete-to');
    await mkdir(to);
    const index = indexWith(
      baseOf([{ digest, repository: 'openshift/release', size: bytes.length, mountTo: ['team/tool'] }]),
    );
    const writer = new ConfinedDirWriter(to);
    expect(await completeFromBaseDir(index, base, writer)).toEqual({ copied: 2, present: 0 });
    expect(await baseFile(to, { digest, repository: 'team/tool' })).toBe(
      join(to, blobEntryPath('team/tool', digest)),
    );
    expect(await completeFromBaseDir(index, base, writer)).toEqual({ copied: 0, present: 2 });
  });
});
