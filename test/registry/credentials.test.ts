import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials, normalizeAuthKey } from '../../src/registry/credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const SECRET = 'S3cret-p@ss:with:colons';

let dir: string;
let home: string;
let xdg: string;

async function authFile(name: string, auths: Record<string, unknown>): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify({ auths }));
  return p;
}

async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { code: string; details: Record<string, unknown>; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-creds-'));
  home = join(dir, 'home');
  xdg = join(dir, 'run');
  await mkdir(join(home, '.docker'), { recursive: true });
  await mkdir(join(xdg, 'containers'), { recursive: true });
  await writeFile(
    join(home, '.docker', 'config.json'),
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'docker-only.example.com': { username: 'd', password: 'dp' },
        'both.example.com': { auth: b64('from-docker:x') },
      },
    }),
  );
  await writeFile(
    join(xdg, 'containers', 'auth.json'),
    JSON.stringify({
      auths: {
        'both.example.com': { auth: b64('from-xdg:y') },
        'http://plain.example.com:5000': { auth: b64('p:q') },
      },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadCredentials', () => {
  it('reads auth (user:password split at the first colon), username/password and identitytoken', async () => {
    const f = await authFile('a.json', {
      'quay.io': { auth: b64(`robot+x:${SECRET}`), email: '' },
      'registry.example.com:8443': { username: 'u', password: 'p' },
      'idt.example.com': { identitytoken: 'refresh-me' },
      'empty.example.com': {},
    });
    const src = await loadCredentials({ registryConfig: f, env: {}, homeDir: home });
    expect(src.lookup('quay.io')).toEqual({ username: 'robot+x', password: SECRET });
    expect(src.lookup('registry.example.com:8443')).toEqual({ username: 'u', password: 'p' });
    expect(src.lookup('idt.example.com')).toEqual({ username: '<token>', password: 'refresh-me' });
    expect(src.lookup('empty.example.com')).toBeUndefined();
    expect(src.lookup('registry.example.com')).toBeUndefined(); // the port is part of the key
    expect(src.describe()).toBe(f);
  });

  it('uses an explicit file alone', async () => {
    const f = await authFile('only.json', { 'x.io': { auth: b64('a:b') } });
    const src = await loadCredentials({
      registryConfig: f,
      env: { REGISTRY_AUTH_FILE: '/nope', XDG_RUNTIME_DIR: xdg },
      homeDir: home,
    });
    expect(src.lookup('both.example.com')).toBeUndefined();
    expect(src.lookup('x.io')).toEqual({ username: 'a', password: 'b' });
  });

  it('looks in REGISTRY_AUTH_FILE, then XDG_RUNTIME_DIR, then ~/.docker/config.json', async () => {
    const env = await authFile('env.json', { 'both.example.com': { auth: b64('from-env:z') } });
    let src = await loadCredentials({
      env: { REGISTRY_AUTH_FILE: env, XDG_RUNTIME_DIR: xdg },
      homeDir: home,
    });
    expect(src.lookup('both.example.com')?.username).toBe('from-env');
    expect(src.lookup('plain.example.com:5000')?.username).toBe('p'); // scheme stripped
    expect(src.lookup('docker-only.example.com')?.username).toBe('d');
    src = await loadCredentials({ env: { XDG_RUNTIME_DIR: xdg }, homeDir: home });
    expect(src.lookup('both.example.com')?.username).toBe('from-xdg');
    src = await loadCredentials({ env: {}, homeDir: home });
    expect(src.lookup('both.example.com')?.username).toBe('from-docker');
    expect(src.describe()).toContain(join(home, '.docker', 'config.json'));
    src = await loadCredentials({ env: {}, homeDir: join(dir, 'no-home') });
    expect(src.lookup('both.example.com')).toBeUndefined();
  });

  it('matches docker.io with https://index.docker.io/v1/ and the other way round', async () => {
    const src = await loadCredentials({ env: {}, homeDir: home });
    expect(src.lookup('docker.io')).toEqual({ username: 'hubuser', password: 'hubpass' });
    const f = await authFile('hub.json', { 'docker.io': { auth: b64('h2:p2') } });
    const src2 = await loadCredentials({ registryConfig: f, env: {}, homeDir: home });
    expect(src2.lookup('https://index.docker.io/v1/')?.username).toBe('h2');
    expect(normalizeAuthKey('https://Registry.Example.com:5000/v2/')).toBe('registry.example.com:5000');
  });

  it('E_CONFIG for a missing explicit file, from the option or REGISTRY_AUTH_FILE', async () => {
    const missing = join(dir, 'missing.json');
    for (const opts of [{ registryConfig: missing, env: {} }, { env: { REGISTRY_AUTH_FILE: missing } }]) {
      const err = await errorOf(loadCredentials({ ...opts, homeDir: home }));
      expect(err.code).toBe('E_CONFIG');
      expect(err.message).toContain(missing);
      expect(err.hint).toBeTruthy();
    }
  });

  it('E_CONFIG for malformed JSON naming the file but never its content', async () => {
    const p = join(dir, 'broken.json');
    await writeFile(p, `{"auths": {"quay.io": {"auth": "${b64(`u:${SECRET}`)}"} `);
    const err = await errorOf(loadCredentials({ registryConfig: p, env: {}, homeDir: home }));
    expect(err.code).toBe('E_CONFIG');
    expect(err.message).toContain(p);
    const all = JSON.stringify({
      m: err.message,
      h: err.hint,
      d: err.details,
      c: String((err as { cause?: unknown }).cause),
    });
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(b64(`u:${SECRET}`));

    // a malformed file in the default locations is an error too, not silently skipped
    const home2 = join(dir, 'home2');
    await mkdir(join(home2, '.docker'), { recursive: true });
    await writeFile(join(home2, '.docker', 'config.json'), 'not json');
    expect((await errorOf(loadCredentials({ env: {}, homeDir: home2 }))).code).toBe('E_CONFIG');
  });

  it('E_CONFIG for an auth value that is not base64 user:password, without the value', async () => {
    const f = await authFile('badauth.json', { 'quay.io': { auth: b64('no-colon-here-secret') } });
    const err = await errorOf(loadCredentials({ registryConfig: f, env: {}, homeDir: home }));
    expect(err.code).toBe('E_CONFIG');
    expect(err.message).toContain('quay.io');
    expect(err.message).not.toContain('no-colon-here-secret');
    const f2 = join(dir, 'arr.json');
    await writeFile(f2, JSON.stringify({ auths: [] }));
    expect((await errorOf(loadCredentials({ registryConfig: f2, env: {}, homeDir: home }))).code).toBe(
      'E_CONFIG',
    );
  });
});
