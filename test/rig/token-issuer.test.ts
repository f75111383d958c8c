import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import { libtrustKeyId, parseScope } from '../helpers/token-issuer.js';
import type { TinyImage } from '../helpers/tiny-image.js';

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function token(reg: TestRegistry, scopes: string[], authorization?: string): Promise<Response> {
  const issuer = reg.tokenIssuer;
  if (issuer === undefined) throw new Error('no token issuer');
  const url = new URL(issuer.realm);
  url.searchParams.set('service', issuer.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  return fetch(url, authorization === undefined ? {} : { headers: { authorization } });
}

describe('token issuer helpers', () => {
  it('computes libtrust key IDs as 12 groups of 4 base32 chars', () => {
    const id = libtrustKeyId(Buffer.from('spki'));
    expect(id).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    // first 5 bits of sha256('spki') pick the first letter
    const first = createHash('sha256').update('spki').digest()[0] ?? 0;
    expect(id[0]).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[first >> 3]);
  });

  it('parses scopes whose name holds a port', () => {
    expect(parseScope('repository:127.0.0.1:5000/a/b:pull,push')).toEqual({
      type: 'repository',
      name: '127.0.0.1:5000/a/b',
      actions: ['pull', 'push'],
    });
    expect(parseScope('garbage')).toBeUndefined();
  });
});

describe('token-auth registry', () => {
  let reg: TestRegistry;
  let image: TinyImage;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', token: { expiresInSeconds: 2 } });
    image = await pushTinyImage(reg, 'tok/app:v1', 21);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  const manifestUrl = (): string => `${reg.url}/v2/tok/app/manifests/v1`;
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };

  it('challenges with the realm, service and scope', async () => {
    const res = await fetch(manifestUrl(), { headers: accept });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`realm="${reg.tokenIssuer?.realm ?? 'x'}"`);
    expect(challenge).toContain('scope="repository:tok/app:pull"');
  });

  it('grants exactly the requested actions, for several scopes, and the registry honours them', async () => {
    const res = await token(
      reg,
      ['repository:tok/app:pull', 'repository:other/x:push'],
      basic(reg.username ?? '', reg.password ?? ''),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.expires_in).toBe(2);
    expect(body.access_token).toBe(body.token);
    const payload = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString()) as {
      access: unknown;
    };
    expect(payload.access).toEqual([
      { type: 'repository', name: 'tok/app', actions: ['pull'] },
      { type: 'repository', name: 'other/x', actions: ['push'] },
    ]);
    const ok = await fetch(manifestUrl(), { headers: { ...accept, authorization: `Bearer ${body.token}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    // pull-only token cannot start an upload
    const push = await fetch(`${reg.url}/v2/tok/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(push.status).toBe(401);
  });

  it('rejects bad credentials and anonymous requests unless allowed, and records each request', async () => {
    const issuer = reg.tokenIssuer;
    if (issuer === undefined) throw new Error('no issuer');
    const before = issuer.requests.length;
    expect((await token(reg, ['repository:tok/app:pull'], basic(reg.username ?? '', 'nope'))).status).toBe(
      401,
    );
    expect((await token(reg, ['repository:tok/app:pull'])).status).toBe(401);
    issuer.setOptions({ allowAnonymous: true });
    try {
      const anon = await token(reg, ['repository:tok/app:pull,push']);
      expect(anon.status).toBe(200);
      const { token: t } = (await anon.json()) as { token: string };
      const payload = JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString()) as {
        access: unknown;
      };
      expect(payload.access).toEqual([{ type: 'repository', name: 'tok/app', actions: ['pull'] }]);
      const ok = await fetch(manifestUrl(), { headers: { ...accept, authorization: `Bearer ${t}` } });
      expect(ok.status).toBe(200);
    } finally {
      issuer.setOptions({ allowAnonymous: false });
    }
    const recent = issuer.requests.slice(before);
    expect(recent.map((r) => r.status)).toEqual([401, 401, 200]);
    expect(recent[0]?.username).toBeUndefined();
    expect(recent[2]?.scopes).toEqual(['repository:tok/app:pull,push']);
  });

  it('mints tokens the registry already treats as expired when asked', async () => {
    const issuer = reg.tokenIssuer;
    if (issuer === undefined) throw new Error('no issuer');
    issuer.setOptions({ claimLifetimeSeconds: -120 });
    try {
      const res = await token(
        reg,
        ['repository:tok/app:pull'],
        basic(reg.username ?? '', reg.password ?? ''),
      );
      const { token: t } = (await res.json()) as { token: string };
      const rejected = await fetch(manifestUrl(), { headers: { ...accept, authorization: `Bearer ${t}` } });
      expect(rejected.status).toBe(401);
    } finally {
      issuer.setOptions({ claimLifetimeSeconds: undefined });
    }
  });

  it('is refused by the registry when signed by a foreign key', async () => {
    const res = await token(reg, ['repository:tok/app:pull'], basic(reg.username ?? '', reg.password ?? ''));
    const { token: t } = (await res.json()) as { token: string };
    const [h, p] = t.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`;
    const rejected = await fetch(manifestUrl(), {
      headers: { ...accept, authorization: `Bearer ${forged}` },
    });
    expect(rejected.status).toBe(401);
  });
});
