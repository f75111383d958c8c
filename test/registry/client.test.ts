/**
 * RegistryClient (src/registry/client.ts) against the real distribution registry (plain HTTP, htpasswd + TLS,
 * token auth), cross-checked with skopeo.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { RegistryClient } from '../../src/registry/client.js';
import { MEDIA_TYPES, parseManifest } from '../../src/registry/manifest.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { skopeoInspectRaw, skopeoCopyToDir } from '../helpers/skopeo.js';
import { makeTinyImage, type TinyImage } from '../helpers/tiny-image.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function clientFor(
  reg: TestRegistry,
  extra: ConstructorParameters<typeof RegistryClient>[0] = {},
): Promise<RegistryClient> {
  const credentials = await loadCredentials({
    registryConfig: reg.authFile,
    env: {},
    homeDir: '/nonexistent',
  });
  return new RegistryClient({
    credentials,
    ...(reg.caFile !== undefined ? { caFile: reg.caFile } : {}),
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
}

async function pushImage(
  client: RegistryClient,
  reg: TestRegistry,
  repository: string,
  tag: string,
  image: TinyImage,
): Promise<string> {
  const repo = { registry: reg.host, repository };
  for (const b of [image.config, ...image.layers]) {
    const r = await client.pushBlob(repo, b, () => Readable.from([b.bytes]));
    expect(['uploaded', 'present']).toContain(r);
  }
  return client.putManifest(repo, tag, image.manifest.bytes, image.manifest.mediaType);
}

function indexOf(images: TinyImage[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: images.map((im, i) => ({
        mediaType: im.manifest.mediaType,
        digest: im.manifest.digest,
        size: im.manifest.size,
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    }),
  );
}

const variants: { name: string; opts: Parameters<typeof startRegistry>[0] }[] = [
  { name: 'plain HTTP, anonymous', opts: { auth: 'none' } },
  { name: 'htpasswd + TLS', opts: { auth: 'htpasswd', tls: true } },
  { name: 'token auth', opts: { auth: 'token' } },
];

describe.each(variants)('against distribution ($name)', ({ opts }) => {
  let reg: TestRegistry;
  let client: RegistryClient;
  let tmp: string;

  beforeAll(async () => {
    reg = await startRegistry(opts);
    client = await clientFor(reg);
    tmp = await makeTempDir('bale-reg-it-');
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
    if (tmp !== undefined) await removeTempDir(tmp);
  });

  it('pushes OCI and Docker images and an index that skopeo reads back byte for byte', async () => {
    const oci = makeTinyImage(11, { format: 'oci', layers: 2 });
    const docker = makeTinyImage(12, { format: 'docker' });
    const d1 = await pushImage(client, reg, 'bale/oci', 'v1', oci);
    const d2 = await pushImage(client, reg, 'bale/docker', 'v1', docker);
    expect(d1).toBe(oci.manifest.digest);
    expect(d2).toBe(docker.manifest.digest);

    // the index's children must live in its repository
    await pushImage(client, reg, 'bale/multi', 'amd64', oci);
    await pushImage(client, reg, 'bale/multi', 'arm64', docker);
    const index = indexOf([oci, docker]);
    const di = await client.putManifest(
      { registry: reg.host, repository: 'bale/multi' },
      'list',
      index,
      MEDIA_TYPES.ociIndex,
    );
    expect(di).toBe(sha(index));

    expect(sha(Buffer.from(await skopeoInspectRaw('bale/oci:v1', reg)))).toBe(oci.manifest.digest);
    expect(sha(Buffer.from(await skopeoInspectRaw('bale/docker:v1', reg)))).toBe(docker.manifest.digest);
    expect(sha(Buffer.from(await skopeoInspectRaw('bale/multi:list', reg)))).toBe(di);
    const dir = join(tmp, 'copy');
    await skopeoCopyToDir(`bale/oci@${oci.manifest.digest}`, dir, reg);
    expect(sha(await readFile(join(dir, 'manifest.json')))).toBe(oci.manifest.digest);

    // and read back with the client itself
    const got = await client.getManifest({ registry: reg.host, repository: 'bale/multi' }, 'list');
    expect(got.digest).toBe(di);
    expect(got.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(parseManifest(got.bytes, got.mediaType).manifests.map((m) => m.digest)).toEqual([
      oci.manifest.digest,
      docker.manifest.digest,
    ]);
    const byDigest = await client.getManifest(
      { registry: reg.host, repository: 'bale/docker' },
      docker.manifest.digest,
    );
    expect(byDigest.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(byDigest.bytes.equals(docker.manifest.bytes)).toBe(true);
    const head = await client.headManifest({ registry: reg.host, repository: 'bale/oci' }, 'v1');
    expect(head).toEqual({
      digest: oci.manifest.digest,
      mediaType: MEDIA_TYPES.ociManifest,
      size: oci.manifest.size,
    });
    expect(await client.headManifest({ registry: reg.host, repository: 'bale/oci' }, 'nope')).toBeUndefined();

    // blobs: stream, file download, existence
    const layer = oci.layers[1]!;
    const repo = { registry: reg.host, repository: 'bale/oci' };
    expect(await client.blobExists(repo, layer.digest)).toBe(true);
    expect(await client.blobExists(repo, sha(Buffer.from('absent')))).toBe(false);
    expect((await buffer(client.openBlob(repo, layer))).equals(layer.bytes)).toBe(true);
    const dest = join(tmp, 'layer');
    expect(await client.downloadBlob(repo, layer, dest)).toEqual({ resumedFrom: 0 });
    expect((await readFile(dest)).equals(layer.bytes)).toBe(true);

    // pushing again: everything present
    expect(await client.pushBlob(repo, layer, () => Readable.from([layer.bytes]))).toBe('present');
    expect(await client.listTags({ registry: reg.host, repository: 'bale/multi' })).toEqual(
      expect.arrayContaining(['amd64', 'arm64', 'list']),
    );
  });

  it('mounts blobs across repositories, and uploads in chunks', async () => {
    const image = makeTinyImage(21, { layerBytes: 300_000 });
    await pushImage(client, reg, 'src/one', 'v1', image);
    const before = client.stats.blobMounts;
    const layer = image.layers[0]!;
    const target = { registry: reg.host, repository: 'dst/two' };
    const r = await client.pushBlob(target, layer, () => Readable.from([layer.bytes]), {
      mountFrom: ['does/not-exist', 'src/one'],
    });
    expect(r).toBe('mounted');
    expect(client.stats.blobMounts).toBe(before + 1);
    expect(await client.blobExists(target, layer.digest)).toBe(true);

    const chunky = await clientFor(reg, { upload: { chunkSize: 50_000, monolithicMaxBytes: 1000 } });
    try {
      const big = makeTinyImage(22, { layerBytes: 200_000 });
      const bl = big.layers[0]!;
      expect(bl.size).toBeGreaterThan(150_000);
      const requestsBefore = chunky.stats.requests;
      expect(
        await chunky.pushBlob({ registry: reg.host, repository: 'chunky/x' }, bl, () =>
          Readable.from([bl.bytes]),
        ),
      ).toBe('uploaded');
      expect(chunky.stats.requests - requestsBefore).toBeGreaterThan(4); // several PATCHes
      expect(
        (await buffer(chunky.openBlob({ registry: reg.host, repository: 'chunky/x' }, bl))).equals(bl.bytes),
      ).toBe(true);
    } finally {
      await chunky.close();
    }
  });

  it('names the repository and tag when a manifest is missing', async () => {
    const err = await client
      .getManifest({ registry: reg.host, repository: 'bale/oci' }, 'missing-tag')
      .catch((e: unknown) => e);
    expect(isBaleError(err, 'E_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('missing-tag');
    expect((err as Error).message).toContain('bale/oci');
    expect((err as { details: Record<string, unknown> }).details.status).toBe(404);
  });
});

describe('checks before and after the exchange', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none' });
    client = await clientFor(reg);
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('refuses bad repository names and references with E_REFERENCE, without sending anything', async () => {
    const before = client.stats.requests;
    const repo = { registry: reg.host, repository: 'ok/repo' };
    expect(() => client.getManifest({ registry: reg.host, repository: 'Bad/Upper' }, 'v1')).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE', message: 'invalid repository name "Bad/Upper"' }),
    );
    expect(() => client.getManifest(repo, '../../etc/passwd')).toThrow(
      expect.objectContaining({
        code: 'E_REFERENCE',
        message: '"../../etc/passwd" is neither a tag nor a sha256 digest',
      }),
    );
    expect(() => client.headManifest(repo, 'sha256:short')).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE' }),
    );
    expect(() => client.blobExists(repo, 'md5:abc')).toThrow();
    expect(() => client.listTags({ registry: reg.host, repository: 'a//b' })).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE' }),
    );
    expect(client.stats.requests).toBe(before);
  });

  it('putManifest refuses bytes that do not match the digest it is pushed as', async () => {
    const bytes = Buffer.from('{"schemaVersion":2}');
    const wrong = sha(Buffer.from('other'));
    await expect(
      client.putManifest({ registry: reg.host, repository: 'a/b' }, wrong, bytes, MEDIA_TYPES.ociManifest),
    ).rejects.toMatchObject({
      code: 'E_DIGEST_MISMATCH',
      details: { expectedDigest: wrong, actualDigest: sha(bytes) },
    });
  });

  it('E_TOO_LARGE for a manifest above maxManifestBytes; by digest it is fetched and checked', async () => {
    const image = makeTinyImage(31, { format: 'oci' });
    await pushImage(client, reg, 'size/check', 'v1', image);
    const small = await clientFor(reg, { maxManifestBytes: image.manifest.size - 1 });
    try {
      const err = await small
        .getManifest({ registry: reg.host, repository: 'size/check' }, 'v1')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'E_TOO_LARGE',
        message: `manifest (tag v1) in ${reg.host}/size/check is larger than ${image.manifest.size - 1} bytes`,
      });
    } finally {
      await small.close();
    }
    const got = await client.getManifest(
      { registry: reg.host, repository: 'size/check' },
      image.manifest.digest,
    );
    expect(got.digest).toBe(image.manifest.digest);
    const head = await client.headManifest(
      { registry: reg.host, repository: 'size/check' },
      image.manifest.digest,
    );
    expect(head).toEqual({
      digest: image.manifest.digest,
      mediaType: MEDIA_TYPES.ociManifest,
      size: image.manifest.size,
    });
  });
});

describe('auth failures against distribution', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('E_AUTH without credentials, and the password never shows', async () => {
    const anon = new RegistryClient({ retry: { attempts: 2, baseDelayMs: 1 } });
    try {
      const err = await anon
        .getManifest({ registry: reg.host, repository: 'a/b' }, 'x')
        .catch((e: unknown) => e);
      expect(isBaleError(err, 'E_AUTH')).toBe(true);
      expect((err as { hint: string }).hint).toMatch(/No credentials/);
    } finally {
      await anon.close();
    }
    const wrong = new RegistryClient({
      credentials: {
        lookup: () => ({ username: reg.username!, password: 'wrong-secret-xyz' }),
        describe: () => 'test',
      },
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    try {
      const err = await wrong
        .getManifest({ registry: reg.host, repository: 'a/b' }, 'x')
        .catch((e: unknown) => e);
      expect(isBaleError(err, 'E_AUTH')).toBe(true);
      expect(JSON.stringify(err)).not.toContain('wrong-secret-xyz');
      expect(String((err as Error).message)).not.toContain('wrong-secret-xyz');
    } finally {
      await wrong.close();
    }
  });
});

describe('TLS', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none', tls: true });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('E_TLS without the CA, works with it and with tlsVerify false', async () => {
    const noCa = new RegistryClient({ retry: { attempts: 2, baseDelayMs: 1 } });
    try {
      const err = await noCa.listTags({ registry: reg.host, repository: 'a/b' }).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_TLS')).toBe(true);
      expect((err as { hint: string }).hint).toMatch(/--ca-file/);
    } finally {
      await noCa.close();
    }
    for (const c of [new RegistryClient({ caFile: reg.caFile! }), new RegistryClient({ tlsVerify: false })]) {
      try {
        const err = await c.listTags({ registry: reg.host, repository: 'a/b' }).catch((e: unknown) => e);
        expect(isBaleError(err, 'E_NOT_FOUND')).toBe(true); // reached the registry over TLS
      } finally {
        await c.close();
      }
    }
  });

  it('E_CONFIG for a missing CA file', () => {
    expect(() => new RegistryClient({ caFile: '/nonexistent/ca.pem' })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
  });
});

describe('RegistryClient with a signal', () => {
  it('an abort during a retry wait (503, Retry-After 30 s) ends it at once, no request after', async () => {
    const proxy = await startFaultProxy('127.0.0.1:9', {
      rules: [{ fault: { kind: 'status', status: 503, retryAfter: 30 } }],
    });
    const ac = new AbortController();
    const client = new RegistryClient({
      tlsVerify: false,
      retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 60_000 },
      signal: ac.signal,
    });
    try {
      const probing = client.getManifest({ registry: proxy.host, repository: 'a/b' }, 'latest');
      await waitFor(() => proxy.log.some((e) => e.done));
      await sleep(200); // now in the 30 s backoff
      const count = proxy.log.length;
      const reason = new Error('interrupted');
      const started = Date.now();
      ac.abort(reason);
      await expect(probing).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1_000);
      await sleep(100);
      expect(proxy.log).toHaveLength(count);
    } finally {
      await client.destroy();
      await proxy.stop();
    }
  });
});
