/**
 * Discovery of Sigstore `.sig` artifacts: against the real distribution registry (which
 * has no referrers API, so the tag scheme is the fallback), cross-checked with skopeo;
 * and against the in-memory wire-protocol registry with a referrers endpoint added by a
 * hook, for registries that do have the API.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { RegistryClient, type Repo } from '../../src/registry/client.js';
import { discoverSigstoreArtifacts } from '../../src/registry/sigstore-discovery.js';
import { parseSigstoreKey } from '../../src/signature/sigstore-key.js';
import { SIGSTORE_ARTIFACT_TYPE, verifySigstoreSignatures } from '../../src/signature/sigstore.js';
import {
  buildSigstoreArtifact,
  generateSigstoreKeyPair,
  pushSigstoreArtifact,
  type SigstoreArtifact,
} from '../../fixtures/sigstore.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { skopeoInspectRaw } from '../helpers/skopeo.js';
import { makeTinyImage, type TinyImage } from '../helpers/tiny-image.js';
import { digestOf, startFakeRegistry, type FakeRegistry } from './fake-registry.js';

const key = generateSigstoreKeyPair('ecdsa-p256');
const otherKey = generateSigstoreKeyPair('rsa');

async function pushImage(client: RegistryClient, repo: Repo, tag: string, image: TinyImage): Promise<string> {
  for (const b of [image.config, ...image.layers]) {
    await client.pushBlob(repo, b, () => Readable.from([b.bytes]));
  }
  return client.putManifest(repo, tag, image.manifest.bytes, image.manifest.mediaType);
}

/** Reads the payload blobs of a discovered artifact back from the registry, as pack would. */
async function payloadsFrom(
  client: RegistryClient,
  repo: Repo,
  blobs: { digest: string; size: number }[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const b of blobs) out.set(b.digest, await buffer(client.openBlob(repo, b)));
  return out;
}

describe('discoverSigstoreArtifacts against the real registry (no referrers API)', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  let repo: Repo;
  let imageDigest: string;
  let artifact: SigstoreArtifact;

  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    client = new RegistryClient({
      credentials: await loadCredentials({ registryConfig: reg.authFile, env: {}, homeDir: '/nonexistent' }),
      retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    });
    repo = { registry: reg.host, repository: 'openshift-release-dev/ocp-release' };
    imageDigest = await pushImage(client, repo, '4.21.0-x86_64', makeTinyImage(16));
    artifact = buildSigstoreArtifact({
      imageDigest,
      dockerReference: `quay.io/${repo.repository}:4.21.0-x86_64`,
      key,
    });
    await pushSigstoreArtifact(client, repo, artifact);
  });
  afterAll(async () => {
    await client.close();
    await reg.stop();
  });

  it('falls back to the .sig tag when the registry answers 404 for referrers, and returns what to carry', async () => {
    const found = await discoverSigstoreArtifacts(client, repo, imageDigest);
    expect(found.referrersApi).toBe(false);
    expect(found.artifacts).toHaveLength(1);
    const [a] = found.artifacts;
    expect(a?.via).toEqual(['tag']);
    expect(a?.tag).toBe(artifact.tag);
    expect(a?.manifest.digest).toBe(artifact.manifest.digest);
    expect(a?.manifest.bytes.equals(artifact.manifest.bytes)).toBe(true);
    expect(new Set(a?.blobs.map((b) => b.digest))).toEqual(new Set(artifact.blobs.keys()));
  });

  it('skopeo, an independent client, finds the pushed .sig by tag with the same bytes', async () => {
    const raw = await skopeoInspectRaw(`${repo.repository}:${artifact.tag}`, reg);
    expect(digestOf(Buffer.from(raw))).toBe(artifact.manifest.digest);
  });

  it('what was discovered verifies offline with the right key and not with another', async () => {
    const [a] = (await discoverSigstoreArtifacts(client, repo, imageDigest)).artifacts;
    if (a === undefined) throw new Error('no artifact');
    const payloads = await payloadsFrom(client, repo, a.blobs.slice(1));
    const right = verifySigstoreSignatures({
      manifest: a.manifest.bytes,
      payloads,
      keys: [parseSigstoreKey(key.publicKeyPem, 'cosign.pub')],
      imageDigest,
    });
    expect(right.map((c) => c.state)).toEqual(['valid']);
    const wrong = verifySigstoreSignatures({
      manifest: a.manifest.bytes,
      payloads,
      keys: [parseSigstoreKey(otherKey.publicKeyPem, 'other.pub')],
      imageDigest,
    });
    expect(wrong.map((c) => c.state)).toEqual(['wrong-key']);
  });

  it('finds nothing for an unsigned image', async () => {
    const unsigned = await pushImage(client, repo, 'unsigned', makeTinyImage(17));
    const found = await discoverSigstoreArtifacts(client, repo, unsigned);
    expect(found.artifacts).toEqual([]);
  });

  it('refuses a .sig tag that holds an index instead of a signature manifest', async () => {
    const image = makeTinyImage(18);
    const digest = await pushImage(client, repo, 'hostile', image);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: image.manifest.mediaType, digest, size: image.manifest.bytes.length }],
      }),
    );
    await client.putManifest(
      repo,
      `sha256-${digest.slice(7)}.sig`,
      index,
      'application/vnd.oci.image.index.v1+json',
    );
    const err = await discoverSigstoreArtifacts(client, repo, digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).code).toBe('E_SIGNATURE_INVALID');
    expect((err as BaleError).message).toContain('is an index');
  });

  it('refuses a digest that is not one', async () => {
    const err = await discoverSigstoreArtifacts(client, repo, 'latest').catch((e: unknown) => e);
    expect((err as BaleError).code).toBe('E_REFERENCE');
  });
});

describe('discoverSigstoreArtifacts with a referrers API', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  const repo = (r: FakeRegistry): Repo => ({ registry: r.host, repository: 'ocp/release' });

  /** Serves GET /v2/<name>/referrers/<digest> from the stored manifests' `subject`, two per page, ignoring artifactType. */
  function serveReferrers(r: FakeRegistry): void {
    r.hooks.push((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
      if (m === null) return false;
      const [, name, subject] = m;
      const seen = new Set<string>();
      const all: Record<string, unknown>[] = [];
      for (const [k, v] of r.manifests) {
        if (!k.startsWith(`${name ?? ''}:sha256:`)) continue;
        const json = JSON.parse(v.bytes.toString()) as {
          subject?: { digest: string };
          artifactType?: string;
        };
        const digest = digestOf(v.bytes);
        if (json.subject?.digest !== subject || seen.has(digest)) continue;
        seen.add(digest);
        all.push({ mediaType: v.mediaType, digest, size: v.bytes.length, artifactType: json.artifactType });
      }
      all.sort((a, b) => String(a.digest).localeCompare(String(b.digest)));
      const start = Number(url.searchParams.get('page') ?? 0);
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: all.slice(start, start + 2),
        }),
      );
      const headers: Record<string, string | number> = {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        'content-length': body.length,
      };
      if (start + 2 < all.length) headers.link = `<${url.pathname}?page=${start + 2}>; rel="next"`;
      res.writeHead(200, headers).end(body);
      return true;
    });
  }

  beforeAll(async () => {
    reg = await startFakeRegistry();
    serveReferrers(reg);
    client = new RegistryClient({ retry: { attempts: 1 } });
  });
  afterAll(async () => {
    await client.close();
    await reg.stop();
  });

  it('finds artifacts by tag and by referrers, lists one found both ways once, and drops other artifact types', async () => {
    const image = makeTinyImage(20);
    const imageDigest = await pushImage(client, repo(reg), '4.21.0', image);
    const subject = {
      mediaType: image.manifest.mediaType,
      digest: imageDigest,
      size: image.manifest.bytes.length,
    };
    const ref = 'quay.io/ocp/release:4.21.0';
    // 1: tag and subject (found both ways); 2 and 3: by digest only, with subject; 4: an SBOM referrer.
    const both = buildSigstoreArtifact({ imageDigest, dockerReference: ref, key, subject });
    await pushSigstoreArtifact(client, repo(reg), both);
    const onlyReferrers = [otherKey, key].map((k, i) =>
      buildSigstoreArtifact({ imageDigest, dockerReference: `${ref}-${i}`, key: k, subject }),
    );
    for (const a of onlyReferrers) await pushSigstoreArtifact(client, repo(reg), a, a.manifest.digest);
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/spdx+json',
        config: {
          mediaType: 'application/vnd.oci.empty.v1+json',
          digest: digestOf(Buffer.from('{}')),
          size: 2,
        },
        layers: [
          { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 },
        ],
        subject,
      }),
    );
    await client.putManifest(repo(reg), digestOf(sbom), sbom, 'application/vnd.oci.image.manifest.v1+json');

    const found = await discoverSigstoreArtifacts(client, repo(reg), imageDigest);
    expect(found.referrersApi).toBe(true);
    const byDigest = new Map(found.artifacts.map((a) => [a.manifest.digest, a]));
    expect(new Set(byDigest.keys())).toEqual(
      new Set([both.manifest.digest, ...onlyReferrers.map((a) => a.manifest.digest)]),
    );
    expect(byDigest.get(both.manifest.digest)?.via).toEqual(['tag', 'referrers']);
    expect(byDigest.get(both.manifest.digest)?.tag).toBe(both.tag);
    for (const a of onlyReferrers) {
      expect(byDigest.get(a.manifest.digest)?.via).toEqual(['referrers']);
      expect(byDigest.get(a.manifest.digest)?.tag).toBeUndefined();
    }
    // The referrers request asked for cosign signatures only, and the second page was followed.
    const asked = reg.log.filter((l) => l.url.includes('/referrers/'));
    expect(asked[0]?.url).toContain(`artifactType=${encodeURIComponent(SIGSTORE_ARTIFACT_TYPE)}`);
    expect(asked.length).toBe(2);
  });

  it('skips the referrers API when told to', async () => {
    const image = makeTinyImage(21);
    const imageDigest = await pushImage(client, repo(reg), 'x', image);
    const before = reg.log.length;
    const found = await discoverSigstoreArtifacts(client, repo(reg), imageDigest, { referrers: false });
    expect(found).toMatchObject({ referrersApi: false, artifacts: [] });
    expect(reg.log.slice(before).some((l) => l.url.includes('/referrers/'))).toBe(false);
  });

  it('refuses an oversized referrers answer and pages that loop', async () => {
    const subject = digestOf(Buffer.from('any subject'));
    const big = new RegistryClient({ retry: { attempts: 1 }, maxManifestBytes: 1024 });
    reg.hooks.unshift((req, res) => {
      const url = req.url ?? '';
      if (!url.includes('/referrers/')) return false;
      if (url.includes('huge')) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        res.end(Buffer.alloc(4096, 0x20));
        return true;
      }
      const body = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}';
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        link: `<${url.split('?')[0] ?? ''}>; rel="next"`,
      });
      res.end(body);
      return true;
    });
    try {
      const loop = await client.referrers(repo(reg), subject).catch((e: unknown) => e);
      expect((loop as BaleError).code).toBe('E_HTTP');
      expect((loop as BaleError).message).toContain('do not end');
      const huge = await big
        .referrers({ registry: reg.host, repository: 'huge/repo' }, subject)
        .catch((e: unknown) => e);
      expect((huge as BaleError).code).toBe('E_TOO_LARGE');
    } finally {
      reg.hooks.shift();
      await big.close();
    }
  });

  it('reports an unreadable referrers answer as an HTTP error naming the request', async () => {
    const image = makeTinyImage(22);
    const imageDigest = await pushImage(client, repo(reg), 'y', image);
    reg.hooks.unshift((req, res) => {
      if (!(req.url ?? '').includes('/referrers/')) return false;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"schemaVersion":2,"manifests":"nope"}');
      return true;
    });
    try {
      const err = await discoverSigstoreArtifacts(client, repo(reg), imageDigest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BaleError);
      expect((err as BaleError).code).toBe('E_HTTP');
      expect((err as BaleError).message).toContain('unreadable referrers list');
    } finally {
      reg.hooks.shift();
    }
  });
});
