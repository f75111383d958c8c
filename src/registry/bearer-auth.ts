/**
 * Answers registry auth challenges: Basic (credentials on every request) and Bearer
 * (a token from the challenge's realm for the needed scopes, cached per registry and
 * scope set until it expires). Credentials only go to the realm over HTTPS unless the
 * realm is on loopback or TLS verification was turned off.
 */
import { BaleError } from '../errors.js';
import {
  type AuthChallenge,
  challengeScopes,
  parseWwwAuthenticate,
  pickChallenge,
} from './auth-challenge.js';
import { type CredentialSource, type Credentials, IDENTITY_TOKEN_USER } from './credentials.js';
import { parseRegistryErrors, redactUrl } from './http-error.js';

export interface TokenRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** Performs a token request (with retries on transient failures) and reads the body. */
export type TokenFetcher = (req: TokenRequest) => Promise<{ status: number; body: Buffer }>;

export interface AuthenticatorOptions {
  credentials?: CredentialSource;
  fetchToken: TokenFetcher;
  /** May credentials be sent to this plain-HTTP realm? */
  allowPlainHttpRealm: (realm: URL) => boolean;
  now?: () => number;
  clientId?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const DEFAULT_EXPIRES_IN_S = 60;
/** Renew a token this long before it expires. */
const EXPIRY_MARGIN_MS = 5_000;
const MAX_TOKEN_BODY = 1024 * 1024;

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

export class Authenticator {
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? Date.now;
  }

  credentialsFor(registry: string): Credentials | undefined {
    return this.opts.credentials?.lookup(registry);
  }

  describeCredentials(): string {
    return this.opts.credentials?.describe() ?? 'no credentials files';
  }

  /** Remembers the challenge a registry answered with (from the /v2/ probe or a 401). */
  noteChallenge(registry: string, header: string | string[] | undefined): AuthChallenge | undefined {
    const c = pickChallenge(parseWwwAuthenticate(header));
    if (c !== undefined) this.challenges.set(registry, c);
    return c;
  }

  /** The Authorization header for a request needing `scopes`, or undefined (anonymous). */
  async authorization(registry: string, scopes: string[]): Promise<string | undefined> {
    const challenge = this.challenges.get(registry);
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const c = this.credentialsFor(registry);
      return c === undefined || c.username === IDENTITY_TOKEN_USER ? undefined : basicAuthorization(c);
    }
    const key = cacheKey(registry, scopes);
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt - EXPIRY_MARGIN_MS > this.now())
      return `Bearer ${cached.token}`;
    const t = await this.fetchShared(key, registry, challenge, scopes);
    return `Bearer ${t.token}`;
  }

  /**
   * After a 401: drop the cached token, take the new challenge and fetch a token for
   * the requested scopes plus any the challenge names.
   */
  async refresh(registry: string, scopes: string[], header: string | string[] | undefined): Promise<void> {
    const key = cacheKey(registry, scopes);
    this.tokens.delete(key);
    const challenge = this.noteChallenge(registry, header);
    if (challenge === undefined || challenge.scheme !== 'bearer') return;
    const all = [...new Set([...scopes, ...challengeScopes(challenge)])];
    await this.fetchShared(key, registry, challenge, all);
  }

  private fetchShared(
    key: string,
    registry: string,
    challenge: AuthChallenge,
    scopes: string[],
  ): Promise<CachedToken> {
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = this.fetchToken(registry, challenge, scopes).then(
        (t) => {
          this.tokens.set(key, t);
          this.inflight.delete(key);
          return t;
        },
        (err: unknown) => {
          this.inflight.delete(key);
          throw err;
        },
      );
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetchToken(
    registry: string,
    challenge: AuthChallenge,
    scopes: string[],
  ): Promise<CachedToken> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      if (realmText === undefined) throw new Error('no realm');
      realm = new URL(realmText);
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new Error('bad scheme');
    } catch {
      throw new BaleError('E_AUTH', `${registry} asked for a Bearer token without a usable realm URL`, {
        hint: 'The registry auth configuration is broken; ask its administrator.',
        details: { registry },
      });
    }
    const creds = this.credentialsFor(registry);
    if (creds !== undefined && realm.protocol === 'http:' && !this.opts.allowPlainHttpRealm(realm)) {
      throw new BaleError(
        'E_AUTH',
        `refusing to send credentials for ${registry} to ${redactUrl(realm)} over plain HTTP`,
        {
          hint: 'Use a token service reachable over HTTPS, or --*-tls-verify=false for a test registry.',
          details: { registry, url: redactUrl(realm) },
        },
      );
    }
    const service = challenge.params.service;
    let req: TokenRequest;
    if (creds !== undefined && creds.username === IDENTITY_TOKEN_USER) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.password,
        client_id: this.opts.clientId ?? 'bale',
      });
      if (service !== undefined) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      req = {
        method: 'POST',
        url: realm.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      };
    } else {
      const url = new URL(realm);
      if (service !== undefined) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds !== undefined) headers.authorization = basicAuthorization(creds);
      req = { method: 'GET', url: url.toString(), headers };
    }
    const res = await this.opts.fetchToken(req);
    const details = { registry, url: redactUrl(realm), status: res.status };
    if (res.status === 401 || res.status === 403) {
      throw new BaleError(
        'E_AUTH',
        creds === undefined
          ? `the token service of ${registry} refused anonymous access (HTTP ${res.status})`
          : `the token service of ${registry} rejected the credentials (HTTP ${res.status})`,
        {
          hint:
            creds === undefined
              ? `No credentials for ${registry} in ${this.describeCredentials()}; pass --registry-config with a pull secret for it.`
              : `Check the user and password for ${registry} in ${this.describeCredentials()}.`,
          details: withRegistryErrors(details, res.body),
        },
      );
    }
    if (res.status !== 200) {
      throw new BaleError('E_HTTP', `the token service of ${registry} answered HTTP ${res.status}`, {
        hint: 'The registry auth service is failing; try again later.',
        details: withRegistryErrors(details, res.body),
      });
    }
    let json: Record<string, unknown>;
    try {
      if (res.body.length > MAX_TOKEN_BODY) throw new Error('too large');
      json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new BaleError('E_AUTH', `the token service of ${registry} sent an unreadable answer`, {
        hint: 'The registry auth service is misbehaving; ask its administrator.',
        details,
      });
    }
    const token =
      typeof json.token === 'string' && json.token.length > 0
        ? json.token
        : typeof json.access_token === 'string'
          ? json.access_token
          : '';
    if (token.length === 0) {
      throw new BaleError('E_AUTH', `the token service of ${registry} sent no token`, {
        hint: 'The registry auth service is misbehaving; ask its administrator.',
        details,
      });
    }
    const expiresIn =
      typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) && json.expires_in > 0
        ? json.expires_in
        : DEFAULT_EXPIRES_IN_S;
    return { token, expiresAt: this.now() + expiresIn * 1000 };
  }
}

function cacheKey(registry: string, scopes: string[]): string {
  return `${registry}\n${[...scopes].sort().join(' ')}`;
}

function withRegistryErrors(details: Record<string, unknown>, body: Buffer): Record<string, unknown> {
  const errors = parseRegistryErrors(body);
  return errors.length > 0 ? { ...details, registryErrors: errors } : details;
}
