/**
 * Content pinned by digest, fetched from mirrors on real loopback registries while the
 * references name quay.io: the original is never contacted when a mirror has the
 * content, and where the original must be tried it is a closed loopback port, so no
 * test reaches the internet.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadMirrorSetFile } from '../../src/registry/mirror-set-file.js';
import { MirrorSources, type SourceCandidate } from '../../src/registry/mirror-sources.js';
import { getManifestFromSources, openBlobFromSources } from '../../src/registry/mirrored-source.js';
import { loadRegistriesConf } from '../../src/registry/registries-conf.js';
import { formatReference, parseReference } from '../../src/registry/reference.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFakeRegistry } from './fake-registry.js';
import { pushTinyImage, skopeoInspectRaw } from '../helpers/skopeo.js';
import type { TinyImage } from '../helpers/tiny-image.js';
import { freePort, makeTempDir, removeTempDir } from '../helpers/tmp.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let reg: TestRegistry;
let dir: string;
let image: TinyImage;
let client: RegistryClient;
let closedHost: string;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  dir = await makeTempDir('bale-mirrored-');
  image = await pushTinyImage(reg, 'mirror/ocp/release:4.18.1', 14, { layers: 2, layerBytes: 4096 });
  client = new RegistryClient({ tlsVerify: false, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
  closedHost = `127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await client.close();
  await reg.stop();
  await removeTempDir(dir);
});

/** A client that records every host it is asked to contact. */
function recording(): { hosts: string[]; client: (c: SourceCandidate) => RegistryClient } {
  const hosts: string[] = [];
  return {
    hosts,
    client: (c) => {
      hosts.push(c.reference.registry);
      return client;
    },
  };
}

async function noSourceError(
  p: Promise<unknown>,
): Promise<{ message: string; hint?: string; attempts: { code: string }[] }> {
  try {
    await p;
  } catch (err) {
    if (isBaleError(err, 'E_NO_SOURCE')) {
      return {
        message: err.message,
        hint: err.hint,
        attempts: err.details['attempts'] as { code: string }[],
      };
    }
    throw err;
  }
  throw new Error('expected E_NO_SOURCE');
}

const ORIGINAL = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';

const configs: [string, () => Promise<MirrorSources>][] = [
  [
    '--idms-file',
    async () => {
      const p = join(dir, 'idms.yaml');
      await writeFile(
        p,
        `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: m\nspec:\n  imageDigestMirrors:\n  - source: ${ORIGINAL}\n    mirrors:\n    - ${reg.host}/mirror/ocp/release\n`,
      );
      return loadMirrorSetFile(p, 'ImageDigestMirrorSet');
    },
  ],
  [
    '--icsp-file',
    async () => {
      const p = join(dir, 'icsp.yaml');
      await writeFile(
        p,
        `apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata:\n  name: m\nspec:\n  repositoryDigestMirrors:\n  - source: ${ORIGINAL}\n    mirrors:\n    - ${reg.host}/mirror/ocp/release\n`,
      );
      return loadMirrorSetFile(p, 'ImageContentSourcePolicy');
    },
  ],
  [
    '--registries-conf',
    async () => {
      const p = join(dir, 'registries.conf');
      await writeFile(
        p,
        `[[registry]]\nprefix = "quay.io/openshift-release-dev"\nlocation = "quay.io/openshift-release-dev"\n\n[[registry.mirror]]\nlocation = "${reg.host}/mirror/ocp"\n`,
      );
      const s = await loadRegistriesConf({ path: p });
      // registries.conf keeps the rest of the path: ocp-v4.0-art-dev lands at mirror/ocp/ocp-v4.0-art-dev.
      // Put the image there too (a copy by the independent client keeps its digest).
      await pushTinyImage(reg, 'mirror/ocp/ocp-v4.0-art-dev:4.18.1', 14, { layers: 2, layerBytes: 4096 });
      return s;
    },
  ],
];

describe('content of a quay.io reference that lives only in a loopback mirror', () => {
  it.each(configs)('found with %s, digest unchanged, quay.io never contacted', async (_flag, load) => {
    const sources = await load();
    const ref = parseReference(`${ORIGINAL}@${image.manifest.digest}`);
    const candidates = sources.candidates(ref);
    expect(candidates.at(-1)).toMatchObject({ kind: 'original', reference: ref });
    const rec = recording();

    const m = await getManifestFromSources(candidates, image.manifest.digest, {
      client: rec.client,
      configured: true,
    });
    expect(m.source.kind).toBe('mirror');
    expect(m.attempts).toEqual([]);
    expect(sha(m.bytes)).toBe(image.manifest.digest);
    // The independent client sees the same bytes at the mirror.
    expect(sha(Buffer.from(await skopeoInspectRaw(formatReference(m.source.reference), reg)))).toBe(
      image.manifest.digest,
    );

    for (const layer of image.layers) {
      const b = await openBlobFromSources(candidates, layer, { client: rec.client, configured: true });
      expect(sha(await buffer(b.stream))).toBe(layer.digest);
    }
    expect(rec.hosts.length).toBeGreaterThan(0);
    expect(rec.hosts.every((h) => h === reg.host)).toBe(true);
  });

  it('without any mirror configuration: E_NO_SOURCE names the original and hints at the options', async () => {
    const ref = parseReference(
      `${closedHost}/openshift-release-dev/ocp-v4.0-art-dev@${image.manifest.digest}`,
    );
    const candidates = new MirrorSources().candidates(ref);
    const e = await noSourceError(
      getManifestFromSources(candidates, image.manifest.digest, { client, configured: false }),
    );
    // A refused connection: E_NETWORK, or E_RETRIES_EXHAUSTED once the client's retry policy gives up.
    expect(e.message).toMatch(
      new RegExp(
        `^manifest ${image.manifest.digest} is in none of its sources: ${formatReference(ref)} \\(original: \\[E_(NETWORK|RETRIES_EXHAUSTED)\\]`,
      ),
    );
    expect(e.hint).toContain('--idms-file');
    expect(e.hint).toContain('--icsp-file');
    expect(e.hint).toContain('--registries-conf');
  });

  it('tries sources in order: a mirror without the content, then one with it', async () => {
    const ref = parseReference(
      `${closedHost}/openshift-release-dev/ocp-v4.0-art-dev@${image.manifest.digest}`,
    );
    const sources = new MirrorSources([
      {
        prefix: `${closedHost}/openshift-release-dev`,
        mirrors: [
          { location: `${reg.host}/empty`, digestOnly: true, tagOnly: false, insecure: false },
          { location: `${reg.host}/mirror/ocp`, digestOnly: true, tagOnly: false, insecure: false },
        ],
        neverContactSource: false,
        origin: 'test',
      },
    ]);
    await pushTinyImage(reg, 'mirror/ocp/ocp-v4.0-art-dev:4.18.1', 14, { layers: 2, layerBytes: 4096 });
    const candidates = sources.candidates(ref);
    expect(candidates.map((c) => c.kind)).toEqual(['mirror', 'mirror', 'original']);
    const m = await getManifestFromSources(candidates, image.manifest.digest, { client, configured: true });
    expect(formatReference(m.source.reference)).toBe(
      `${reg.host}/mirror/ocp/ocp-v4.0-art-dev@${image.manifest.digest}`,
    );
    expect(m.attempts.map((a) => [a.kind, a.code])).toEqual([['mirror', 'E_NOT_FOUND']]);
    const b = await openBlobFromSources(candidates, image.layers[0]!, { client, configured: true });
    expect(b.attempts.map((a) => a.code)).toEqual(['E_NOT_FOUND']);
    expect(sha(await buffer(b.stream))).toBe(image.layers[0]!.digest);
  });

  it('configured but nowhere: the error lists every source tried and points at the mirrors', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const ref = parseReference(`${closedHost}/openshift-release-dev/ocp-v4.0-art-dev@${missing}`);
    const sources = new MirrorSources([
      {
        prefix: `${closedHost}/openshift-release-dev`,
        mirrors: [{ location: `${reg.host}/mirror/ocp`, digestOnly: true, tagOnly: false, insecure: false }],
        neverContactSource: false,
        origin: 'test',
      },
    ]);
    const candidates = sources.candidates(ref);
    const e = await noSourceError(
      openBlobFromSources(candidates, { digest: missing }, { client, configured: true }),
    );
    expect(e.attempts.map((a) => a.code)).toEqual([
      'E_NOT_FOUND',
      expect.stringMatching(/^E_(NETWORK|RETRIES_EXHAUSTED)$/),
    ]);
    expect(e.message).toContain(`${reg.host}/mirror/ocp/ocp-v4.0-art-dev@${missing} (mirror: [E_NOT_FOUND]`);
    expect(e.message).toContain(
      `${closedHost}/openshift-release-dev/ocp-v4.0-art-dev@${missing} (original: [E_`,
    );
    expect(e.hint).toContain('Check the mirrors');
  });

  it('NeverContactSource with no mirror left: E_NO_SOURCE says nothing could be tried', async () => {
    const ref = parseReference(`quay.io/x/y@${image.manifest.digest}`);
    const sources = new MirrorSources([
      { prefix: 'quay.io/x', mirrors: [], neverContactSource: true, origin: 't' },
    ]);
    const rec = recording();
    const e = await noSourceError(
      getManifestFromSources(sources.candidates(ref), image.manifest.digest, {
        client: rec.client,
        configured: true,
      }),
    );
    expect(e.message).toContain('has no source to try');
    expect(rec.hosts).toEqual([]);
  });

  it('an aborted signal stops the search instead of moving on', async () => {
    const ref = parseReference(`${closedHost}/a/b@${image.manifest.digest}`);
    const controller = new AbortController();
    controller.abort();
    const rec = recording();
    const e = await getManifestFromSources(
      [...new MirrorSources().candidates(ref), ...new MirrorSources().candidates(ref)],
      image.manifest.digest,
      { client: rec.client, configured: false, signal: controller.signal },
    ).catch((err: unknown) => err);
    expect(isBaleError(e, 'E_NO_SOURCE')).toBe(false);
    expect(rec.hosts).toHaveLength(1);
  });
  it('a mirror serving other bytes under the digest is skipped for a manifest; a blob stream with other bytes fails', async () => {
    const liar = await startFakeRegistry();
    try {
      const other = Buffer.from(
        image.manifest.bytes.toString('utf8').replace('"schemaVersion"', ' "schemaVersion"'),
      );
      liar.manifests.set(`ocp/release:${image.manifest.digest}`, {
        bytes: other,
        mediaType: image.manifest.mediaType,
      });
      const layer = image.layers[0]!;
      liar.blobs.set(layer.digest, Buffer.alloc(layer.size, 1));
      const ref = parseReference(
        `${closedHost}/openshift-release-dev/ocp-v4.0-art-dev@${image.manifest.digest}`,
      );
      const sources = new MirrorSources([
        {
          prefix: `${closedHost}/openshift-release-dev/ocp-v4.0-art-dev`,
          mirrors: [
            { location: `${liar.host}/ocp/release`, digestOnly: true, tagOnly: false, insecure: false },
            { location: `${reg.host}/mirror/ocp/release`, digestOnly: true, tagOnly: false, insecure: false },
          ],
          neverContactSource: false,
          origin: 'test',
        },
      ]);
      const candidates = sources.candidates(ref);
      const m = await getManifestFromSources(candidates, image.manifest.digest, { client, configured: true });
      expect(m.attempts.map((a) => [a.reference.split('/')[0], a.code])).toEqual([
        [liar.host, 'E_DIGEST_MISMATCH'],
      ]);
      expect(sha(m.bytes)).toBe(image.manifest.digest);
      expect(formatReference(m.source.reference)).toContain(reg.host);

      const b = await openBlobFromSources(candidates, layer, { client, configured: true });
      expect(b.source.reference.registry).toBe(liar.host);
      const err = await buffer(b.stream).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isBaleError(err, 'E_DIGEST_MISMATCH')).toBe(true);
    } finally {
      await liar.stop();
    }
  });
});
