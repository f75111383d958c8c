/**
 * A Docker Registry v2 token server (the `auth.token` realm) run in-process for tests.
 *
 * It checks Basic credentials against a user list, grants exactly the actions asked for
 * in `scope` (several `scope` params and space-separated scopes are supported), and
 * signs ES256 JWTs whose `kid` is the libtrust key ID of the signing key, which is how
 * distribution 2.8 finds the key in its `rootcertbundle`. Every request is recorded so
 * tests can count token fetches.
 *
 * Note: distribution 2.8 accepts tokens up to 60 s past `exp` (leeway). To make the
 * registry reject a token now, set `claimLifetimeSeconds` below -60.
 */
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

export interface TestUser {
  username: string;
  password: string;
}

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  time: number;
  method: string;
  /** Authenticated user, undefined for anonymous requests. */
  username?: string;
  service?: string;
  /** Raw scope strings as requested. */
  scopes: string[];
  status: number;
  granted: TokenAccess[];
}

export interface TokenIssuerOptions {
  users: TestUser[];
  /** `service` the registry expects as audience. */
  service?: string;
  /** `iss` claim. */
  issuer?: string;
  /** `expires_in` in the response, seconds (default 300). */
  expiresInSeconds?: number;
  /** `exp - iat` in the JWT itself, seconds (default expiresInSeconds). */
  claimLifetimeSeconds?: number;
  /** Give tokens to requests without credentials (default false: 401). */
  allowAnonymous?: boolean;
  /** Actions an anonymous token may carry (default ['pull']). */
  anonymousActions?: string[];
  /** Decide the granted actions; default: everything requested (authenticated) / anonymousActions. */
  grant?: (username: string | undefined, requested: TokenAccess) => string[];
  /** Serve over HTTPS with this certificate/key (PEM files). */
  tls?: { certFile: string; keyFile: string };
}

export interface TokenIssuer {
  /** http(s)://127.0.0.1:port */
  url: string;
  /** url + '/token' */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate of the signing key: the registry's rootcertbundle. */
  certFile: string;
  /** libtrust key ID of the signing key (the JWT `kid`). */
  keyId: string;
  requests: TokenRequestRecord[];
  setOptions(patch: Partial<Omit<TokenIssuerOptions, 'tls'>>): void;
  stop(): Promise<void>;
}

/** libtrust key ID: base32 of the first 240 bits of sha256(DER SPKI), 12 groups of 4. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const hash = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  const groups: string[] = [];
  for (let i = 0; i < out.length; i += 4) groups.push(out.slice(i, i + 4));
  return groups.join(':');
}

/** Parses `type:name:actions`; the name may itself contain ':' (registry host with port). */
export function parseScope(scope: string): TokenAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function basicCredentials(req: IncomingMessage): TestUser | undefined | 'malformed' {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (match?.[1] === undefined) return 'malformed';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('token request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTokenIssuer(
  initial: TokenIssuerOptions & { certFile: string; keyFile: string },
): Promise<TokenIssuer> {
  const options: TokenIssuerOptions = { ...initial };
  const service = initial.service ?? 'bale-test-registry';
  const issuer = initial.issuer ?? 'bale-test-issuer';
  const certPem = await readFile(initial.certFile, 'utf8');
  const keyPem = await readFile(initial.keyFile, 'utf8');
  const cert = new X509Certificate(certPem);
  const keyId = libtrustKeyId(cert.publicKey.export({ type: 'spki', format: 'der' }));
  const privateKey = createPrivateKey(keyPem);
  const requests: TokenRequestRecord[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: TokenRequestRecord = {
      time: Date.now(),
      method: req.method ?? 'GET',
      scopes: [],
      status: 0,
      granted: [],
    };
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      requests.push(record);
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };
    if (url.pathname !== '/token') {
      reply(404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] });
      return;
    }
    let params = url.searchParams;
    let user: TestUser | undefined | 'malformed' = basicCredentials(req);
    if (req.method === 'POST') {
      // OAuth2 password grant (containers/image uses it with identity tokens).
      const form = new URLSearchParams(await readBody(req));
      params = form;
      const grantType = form.get('grant_type');
      if (grantType === 'password') {
        user = { username: form.get('username') ?? '', password: form.get('password') ?? '' };
      } else if (grantType !== null) {
        reply(400, { error: 'unsupported_grant_type' });
        return;
      }
    } else if (req.method !== 'GET') {
      reply(405, { error: 'method not allowed' });
      return;
    } else {
      req.resume();
    }
    record.service = params.get('service') ?? undefined;
    record.scopes = params.getAll('scope').flatMap((s) => s.split(' ').filter((x) => x !== ''));
    const challenge = { 'www-authenticate': `Basic realm="${issuer}"` };
    if (user === 'malformed') {
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'malformed credentials' }] }, challenge);
      return;
    }
    if (user !== undefined) {
      const candidate = user;
      const known = options.users.find(
        (u) => u.username === candidate.username && u.password === candidate.password,
      );
      if (known === undefined) {
        reply(
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] },
          challenge,
        );
        return;
      }
      record.username = known.username;
    } else if (options.allowAnonymous !== true) {
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, challenge);
      return;
    }
    if (record.service !== undefined && record.service !== service) {
      reply(400, { errors: [{ code: 'INVALID_REQUEST', message: 'unknown service' }] });
      return;
    }
    const granted: TokenAccess[] = [];
    for (const raw of record.scopes) {
      const requested = parseScope(raw);
      if (requested === undefined) continue;
      let actions: string[];
      if (options.grant !== undefined) actions = options.grant(record.username, requested);
      else if (record.username !== undefined) actions = requested.actions;
      else {
        const allowed = options.anonymousActions ?? ['pull'];
        actions = requested.actions.filter((a) => allowed.includes(a));
      }
      granted.push({ type: requested.type, name: requested.name, actions });
    }
    record.granted = granted;
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresInSeconds ?? 300;
    const lifetime = options.claimLifetimeSeconds ?? expiresIn;
    const token = await new SignJWT({ access: granted })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keyId })
      .setIssuer(issuer)
      .setSubject(record.username ?? '')
      .setAudience(service)
      .setIssuedAt(now)
      .setNotBefore(Math.min(now, now + lifetime) - 1)
      .setExpirationTime(now + lifetime)
      .setJti(randomBytes(12).toString('hex'))
      .sign(privateKey);
    reply(200, {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    });
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(err instanceof Error ? err.message : String(err));
      } else res.destroy();
    });
  };
  const server: Server =
    initial.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer(
          { cert: await readFile(initial.tls.certFile), key: await readFile(initial.tls.keyFile) },
          listener,
        );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${initial.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certFile: initial.certFile,
    keyId,
    requests,
    setOptions(patch) {
      Object.assign(options, patch);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
