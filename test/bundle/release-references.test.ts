/**
 * readBundleRelease: the release payload read back out of the bundle and checked
 * against the digest its manifest names, before a byte of it is trusted. Each refusal
 * names what is wrong with a stable code.
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { blobEntryPath } from '../../src/bundle/entry-path.js';
import { openBundle, type OpenedBundle } from '../../src/bundle/open-bundle.js';
import { readBundleRelease } from '../../src/bundle/release-references.js';
import { removeDir, reseal, rewriteVolume } from '../../fixtures/hostile/damage.js';
import {
  FIXTURE_REPO,
  FIXTURE_VERSION,
  buildValidBundle,
  makeSigningKey,
  type ValidBundle,
} from '../../fixtures/hostile/valid-bundle.js';

let root: string;
let pristine: ValidBundle;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-relref-'));
  pristine = await buildValidBundle(join(root, 'pristine'), await makeSigningKey());
}, 60_000);

afterAll(async () => {
  await removeDir(root);
});

/** Every manifest blob's bytes, read through the bundle (what verify would hand over). */
async function manifestsOf(b: OpenedBundle): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const im of b.index.images) {
    const path = blobEntryPath(im.repository, im.digest);
    const entry = b.index.entries.find((e) => e.path === path);
    if (entry) out.set(path, await buffer(b.openEntry(entry)));
  }
  return out;
}

/** The payload layer's entry path: the release manifest's last layer (the fixture builds it so). */
function payloadPath(manifests: Map<string, Buffer>): string {
  const m = manifests.get(blobEntryPath(FIXTURE_REPO, pristine.releaseDigest));
  const layers = (JSON.parse(m?.toString() ?? '{}') as { layers?: { digest: string }[] }).layers ?? [];
  const last = layers.at(-1);
  if (last === undefined) throw new Error('the fixture release manifest has no layers');
  return blobEntryPath(FIXTURE_REPO, last.digest);
}

describe('readBundleRelease', () => {
  test('reads the payload the signed manifest names: version, components, payload layer', async () => {
    const b = await openBundle(pristine.dir);
    const manifests = await manifestsOf(b);
    const rel = await readBundleRelease(b, (p) => manifests.get(p));
    expect(rel.info.version).toBe(FIXTURE_VERSION);
    expect(rel.info.architecture).toBe('x86_64');
    expect(rel.info.components.map((c) => c.name)).toEqual(['cli']);
    const cli = pristine.index.images.find((i) => i.name === 'cli');
    expect(rel.info.components[0]?.image.digest).toBe(cli?.digest);
    const payload = payloadPath(manifests);
    expect(rel.payloadLayer).toBe(payload.slice(payload.lastIndexOf('/') + 1));
    expect(payload).not.toBe(pristine.paths.releaseLayer);
  });

  test('no release manifest among the verified bytes: E_BUNDLE_INCOMPLETE', async () => {
    const b = await openBundle(pristine.dir);
    await expect(readBundleRelease(b, () => undefined)).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
      message: expect.stringContaining(pristine.releaseDigest) as unknown,
    });
  });

  test('a release manifest without layers: E_RELEASE_INVALID', async () => {
    const b = await openBundle(pristine.dir);
    const empty = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${'a'.repeat(64)}`,
          size: 2,
        },
        layers: [],
      }),
    );
    await expect(readBundleRelease(b, () => empty)).rejects.toMatchObject({ code: 'E_RELEASE_INVALID' });
  });

  test('a bundle without a release: E_RELEASE_INVALID', async () => {
    const b = await openBundle(pristine.dir);
    const index = { ...b.index, releases: [] };
    await expect(readBundleRelease({ index, openEntry: b.openEntry }, () => undefined)).rejects.toMatchObject(
      {
        code: 'E_RELEASE_INVALID',
      },
    );
  });

  test('the payload layer missing from the index: E_BUNDLE_INCOMPLETE naming it', async () => {
    const b = await openBundle(pristine.dir);
    const manifests = await manifestsOf(b);
    const payload = payloadPath(manifests);
    const index = { ...b.index, entries: b.index.entries.filter((e) => e.path !== payload) };
    await expect(
      readBundleRelease({ index, openEntry: b.openEntry }, (p) => manifests.get(p)),
    ).rejects.toMatchObject({
      code: 'E_BUNDLE_INCOMPLETE',
      message: expect.stringContaining(payload) as unknown,
    });
  });

  test('payload bytes changed in the volume (volume resealed, index unchanged): E_DIGEST_MISMATCH', async () => {
    const dir = join(root, 'altered');
    await cp(pristine.dir, dir, { recursive: true });
    const payload = payloadPath(await manifestsOf(await openBundle(pristine.dir)));
    const entry = pristine.index.entries.find((e) => e.path === payload);
    if (entry?.volume === undefined || entry.parts)
      throw new Error('the fixture payload layer should be whole');
    let flipped = false;
    await rewriteVolume({ ...pristine, dir }, entry.volume, (items) =>
      items.map((it) => {
        if (it.header.name !== entry.path) return it;
        const body = Buffer.from(it.body);
        body[1000] = (body[1000] ?? 0) ^ 0xff; // inside the padding file: the tar still parses
        flipped = true;
        return { ...it, body };
      }),
    );
    expect(flipped).toBe(true);
    // SHA256SUMS vouches for the altered volume: only the entry's digest is left to catch it.
    await reseal(dir, structuredClone(pristine.index));
    // The manifests as verified (they are intact; verify hands them over from its own pass).
    const manifests = await manifestsOf(await openBundle(pristine.dir));
    const b = await openBundle(dir);
    await expect(readBundleRelease(b, (p) => manifests.get(p))).rejects.toMatchObject({
      code: 'E_DIGEST_MISMATCH',
      message: expect.stringContaining(payload) as unknown,
    });
  });

  test('an aborted signal stops the read with its reason, not as an invalid release', async () => {
    const b = await openBundle(pristine.dir);
    const manifests = await manifestsOf(b);
    const ac = new AbortController();
    const reason = new Error('interrupted');
    ac.abort(reason);
    await expect(
      readBundleRelease(b, (p) => manifests.get(p), undefined, { signal: ac.signal }),
    ).rejects.toBe(reason);
  });
});
