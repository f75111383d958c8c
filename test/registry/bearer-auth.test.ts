/**
 * The token cache and token requests of the Authenticator, with a recording token
 * fetcher in place of the HTTP round trip (the wire side is covered in protocol.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Authenticator, type TokenRequest } from '../../src/registry/bearer-auth.js';
import { staticCredentials } from '../../src/registry/credentials.js';

const CHALLENGE = 'Bearer realm="https://auth.example.com/token",service="reg"';

function setup(
  opts: {
    creds?: boolean;
    identity?: boolean;
    answer?: (n: number) => { status: number; body: unknown };
  } = {},
) {
  let clock = 1_000_000;
  const requests: TokenRequest[] = [];
  const auth = new Authenticator({
    ...(opts.creds === true || opts.identity === true
      ? {
          credentials: staticCredentials({
            'reg.example.com':
              opts.identity === true
                ? { username: '<token>', password: 'refresh-tok' }
                : { username: 'u', password: 'p@ss' },
          }),
        }
      : {}),
    allowPlainHttpRealm: (realm) => realm.hostname === '127.0.0.1',
    now: () => clock,
    fetchToken: async (req) => {
      requests.push(req);
      const a = opts.answer?.(requests.length) ?? { status: 200, body: { token: `t${requests.length}` } };
      return {
        status: a.status,
        body: Buffer.from(typeof a.body === 'string' ? a.body : JSON.stringify(a.body)),
      };
    },
  });
  return { auth, requests, tick: (ms: number) => (clock += ms) };
}

describe('Authenticator', () => {
  it('is anonymous until challenged, then answers Bearer with a cached token (default 60 s)', async () => {
    const { auth, requests, tick } = setup({ creds: true });
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBeUndefined();
    auth.noteChallenge('reg.example.com', CHALLENGE);
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer t1');
    tick(50_000);
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer t1');
    expect(requests).toHaveLength(1);
    const u = new URL(requests[0]!.url);
    expect(u.searchParams.get('service')).toBe('reg');
    expect(u.searchParams.getAll('scope')).toEqual(['repository:a:pull']);
    expect(requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p@ss').toString('base64')}`);
    tick(6_000); // within the renewal margin of the 60 s default
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer t2');
    // another scope set is another token
    expect(await auth.authorization('reg.example.com', ['repository:b:pull,push'])).toBe('Bearer t3');
  });

  it('honours expires_in and shares one fetch between concurrent callers', async () => {
    const { auth, requests, tick } = setup({
      answer: (n) => ({ status: 200, body: { access_token: `a${n}`, expires_in: 600 } }),
    });
    auth.noteChallenge('reg.example.com', CHALLENGE);
    const all = await Promise.all(
      [1, 2, 3].map(() => auth.authorization('reg.example.com', ['repository:a:pull'])),
    );
    expect(all).toEqual(['Bearer a1', 'Bearer a1', 'Bearer a1']);
    tick(500_000);
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer a1');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.headers.authorization).toBeUndefined(); // anonymous token
  });

  it('refresh() drops the cached token and adds the challenge scopes', async () => {
    const { auth, requests } = setup();
    auth.noteChallenge('reg.example.com', CHALLENGE);
    await auth.authorization('reg.example.com', ['repository:a:pull']);
    await auth.refresh(
      'reg.example.com',
      ['repository:a:pull'],
      `${CHALLENGE},scope="repository:host:5000/x:pull"`,
    );
    expect(new URL(requests[1]!.url).searchParams.getAll('scope')).toEqual([
      'repository:a:pull',
      'repository:host:5000/x:pull',
    ]);
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer t2');
  });

  it('uses the OAuth2 refresh-token grant for identity tokens', async () => {
    const { auth, requests } = setup({ identity: true });
    auth.noteChallenge('reg.example.com', CHALLENGE);
    await auth.authorization('reg.example.com', ['repository:a:pull']);
    expect(requests[0]!.method).toBe('POST');
    const form = new URLSearchParams(requests[0]!.body);
    expect(form.get('grant_type')).toBe('refresh_token');
    expect(form.get('refresh_token')).toBe('refresh-tok');
    expect(form.get('scope')).toBe('repository:a:pull');
  });

  it('Basic challenge: credentials on the request, none when there are none', async () => {
    const withCreds = setup({ creds: true });
    withCreds.auth.noteChallenge('reg.example.com', 'Basic realm="r"');
    expect(await withCreds.auth.authorization('reg.example.com', [])).toBe(
      `Basic ${Buffer.from('u:p@ss').toString('base64')}`,
    );
    const without = setup();
    without.auth.noteChallenge('reg.example.com', 'Basic realm="r"');
    expect(await without.auth.authorization('reg.example.com', [])).toBeUndefined();
  });

  it.each([
    [
      'a 401 from the token service',
      () => ({ status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'bad' }] } }),
      'E_AUTH',
    ],
    ['a 500 from the token service', () => ({ status: 500, body: 'x' }), 'E_HTTP'],
    ['an answer without a token', () => ({ status: 200, body: { nope: 1 } }), 'E_AUTH'],
    ['an answer that is not JSON', () => ({ status: 200, body: '<html>' }), 'E_AUTH'],
  ])('fails cleanly on %s without leaking the password', async (_what, answer, code) => {
    const { auth } = setup({ creds: true, answer });
    auth.noteChallenge('reg.example.com', CHALLENGE);
    const err = await auth.authorization('reg.example.com', ['repository:a:pull']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code });
    const e = err as { message: string; hint?: string; details: unknown };
    expect(JSON.stringify([e.message, e.hint, e.details])).not.toContain('p@ss');
  });

  it('refuses to send credentials to a plain-HTTP realm off loopback, and needs a realm', async () => {
    const { auth, requests } = setup({ creds: true });
    auth.noteChallenge('reg.example.com', 'Bearer realm="http://auth.example.com/token"');
    await expect(auth.authorization('reg.example.com', ['repository:a:pull'])).rejects.toMatchObject({
      code: 'E_AUTH',
    });
    auth.noteChallenge('reg.example.com', 'Bearer service="x"');
    await expect(auth.authorization('reg.example.com', ['repository:a:pull'])).rejects.toMatchObject({
      code: 'E_AUTH',
    });
    expect(requests).toHaveLength(0);
    auth.noteChallenge('reg.example.com', 'Bearer realm="http://127.0.0.1:9/token"');
    expect(await auth.authorization('reg.example.com', ['repository:a:pull'])).toBe('Bearer t1');
  });
});
