import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, writeAuthFile, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage, skopeoCopyToDir, skopeoCopyToRegistry, skopeoInspectRaw } from '../helpers/skopeo.js';
import { makeTinyImage, writeDirImage } from '../helpers/tiny-image.js';
import { makeTempDir } from '../helpers/tmp.js';

describe('plain registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('answers /v2/ on loopback and writes an empty auth file', async () => {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg.url).toBe(`http://${reg.host}`);
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
    expect(JSON.parse(await readFile(reg.authFile, 'utf8'))).toEqual({ auths: {} });
  });

  it('takes a tiny OCI image from skopeo and serves the same manifest bytes', async () => {
    const image = await pushTinyImage(reg, 'tiny/oci:v1', 1);
    const raw = await skopeoInspectRaw('tiny/oci:v1', reg);
    expect(raw).toBe(image.manifest.bytes.toString('utf8'));
    const res = await fetch(`${reg.url}/v2/tiny/oci/manifests/${image.manifest.digest}`, {
      headers: { accept: image.manifest.mediaType },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    const layer = image.layers[0];
    expect(layer).toBeDefined();
    const blob = await fetch(`${reg.url}/v2/tiny/oci/blobs/${layer?.digest ?? ''}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer?.bytes ?? Buffer.alloc(0))).toBe(true);
  });

  it('takes a docker v2s2 image from a dir: source and copies it back out', async () => {
    const image = makeTinyImage(2, { format: 'docker', layers: 2 });
    const src = await makeTempDir('bale-rig-src-');
    const result = await skopeoCopyToRegistry(await writeDirImage(image, src), 'tiny/docker:v1', reg);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = await makeTempDir('bale-rig-out-');
    await skopeoCopyToDir('tiny/docker:v1', out, reg);
    const files = await readdir(out);
    for (const digest of image.blobs.keys()) expect(files).toContain(digest.slice(7));
    expect(await readFile(`${out}/manifest.json`, 'utf8')).toBe(image.manifest.bytes.toString('utf8'));
  });

  it('is deterministic per seed and differs between seeds', () => {
    expect(makeTinyImage(7).manifest.digest).toBe(makeTinyImage(7).manifest.digest);
    expect(makeTinyImage(7).manifest.digest).not.toBe(makeTinyImage(8).manifest.digest);
  });
});

describe.each([
  { auth: 'htpasswd' as const, tls: false },
  { auth: 'none' as const, tls: true },
  { auth: 'htpasswd' as const, tls: true },
  { auth: 'token' as const, tls: false },
  { auth: 'token' as const, tls: true },
])('registry auth=$auth tls=$tls', ({ auth, tls }) => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth, tls });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('pushes and inspects the tiny image with the right flags', async () => {
    expect(reg.url).toBe(`${tls ? 'https' : 'http'}://${reg.host}`);
    const image = await pushTinyImage(reg, 'tiny/app:v1', 11);
    expect(await skopeoInspectRaw('tiny/app:v1', reg)).toBe(image.manifest.bytes.toString('utf8'));
  });

  it('writes the credentials into authFile', async () => {
    const config = JSON.parse(await readFile(reg.authFile, 'utf8')) as {
      auths: Record<string, { auth: string }>;
    };
    if (auth === 'none') {
      expect(config.auths).toEqual({});
      expect(reg.username).toBeUndefined();
    } else {
      expect(reg.username).toMatch(/^user-/);
      expect(Buffer.from(config.auths[reg.host]?.auth ?? '', 'base64').toString()).toBe(
        `${reg.username}:${reg.password}`,
      );
    }
  });

  if (auth !== 'none') {
    it('refuses requests without credentials and with a wrong password', async () => {
      await pushTinyImage(reg, 'tiny/app:v2', 12);
      await expect(skopeoInspectRaw('tiny/app:v2', reg, { creds: 'none' })).rejects.toThrow(
        /unauthorized|authentication required/i,
      );
      await expect(
        skopeoInspectRaw('tiny/app:v2', reg, { creds: { username: reg.username ?? '', password: 'wrong' } }),
      ).rejects.toThrow(/unauthorized|invalid username/i);
    });
  }

  if (tls) {
    it('fails certificate verification without the CA', async () => {
      const { skopeo } = await import('../helpers/skopeo.js');
      const result = await skopeo([
        'inspect',
        '--raw',
        '--tls-verify=true',
        '--no-creds',
        `docker://${reg.host}/tiny/app:v1`,
      ]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/certificate|x509/i);
      expect(reg.caFile).toBeDefined();
    });
  }

  if (auth === 'token') {
    it('records token requests with the scopes skopeo asked for', () => {
      const requests = reg.tokenIssuer?.requests ?? [];
      const granted = requests.filter((r) => r.status === 200);
      expect(granted.length).toBeGreaterThan(0);
      expect(granted.some((r) => r.scopes.includes('repository:tiny/app:pull,push'))).toBe(true);
      expect(requests.some((r) => r.status === 401 && r.username === undefined)).toBe(true);
    });
  }
});

describe('registry lifecycle', () => {
  it('stop() kills the registry and removes its directory, and is idempotent', async () => {
    const reg = await startRegistry({ auth: 'htpasswd' });
    const log = await readFile(reg.logFile, 'utf8');
    expect(log).toMatch(/listening on 127\.0\.0\.1:/);
    const other = join(await makeTempDir('bale-rig-auth-'), 'auth.json');
    await writeAuthFile(reg, other, '127.0.0.1:1');
    const config = JSON.parse(await readFile(other, 'utf8')) as { auths: Record<string, unknown> };
    expect(Object.keys(config.auths)).toEqual(['127.0.0.1:1']);
    await Promise.all([reg.stop(), reg.stop()]);
    expect(existsSync(reg.rootDir)).toBe(false);
    await expect(fetch(`${reg.url}/v2/`)).rejects.toThrow();
  });

  it('runs several registries side by side on distinct ports', async () => {
    const regs = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    try {
      expect(new Set(regs.map((r) => r.host)).size).toBe(3);
      for (const r of regs) expect((await fetch(`${r.url}/v2/`)).status).toBe(200);
    } finally {
      await Promise.all(regs.map((r) => r.stop()));
    }
  });
});
