/**
 * Registry credentials from docker `config.json` / containers `auth.json` / OpenShift
 * pull secrets (all the same `{"auths": {...}}` JSON). Files are read, never written.
 *
 * Look-up order (as the containers tools do): the file named by `--registry-config`
 * (alone), else `REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`,
 * `~/.docker/config.json`: the first file with an entry for the registry wins.
 * Credential helpers (`credsStore`, `credHelpers`) are not supported.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaleError } from '../errors.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  /** `<token>` with the identity token as password, for OAuth2 refresh-token logins. */
  username: string;
  password: string;
}

export const IDENTITY_TOKEN_USER = '<token>';

export interface CredentialSource {
  lookup(registry: string): Credentials | undefined;
  /** Which files were consulted (paths only, never content). */
  describe(): string;
}

export interface LoadCredentialsOptions {
  registryConfig?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
}

interface AuthFile {
  path: string;
  entries: Map<string, Credentials>;
}

const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']);

/** Reduces an `auths` key (`https://host/v1/`, `host`, `http://host:5000`) to the registry host. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  k = k.replace(/\/+(v1|v2)\/*$/, '').replace(/\/+$/, '');
  k = k.toLowerCase();
  if (DOCKER_HUB_ALIASES.has(k)) return DOCKER_HUB;
  return k;
}

function configError(path: string, why: string): BaleError {
  return new BaleError('E_CONFIG', `registry credentials file ${path}: ${why}`, {
    hint: 'Use a docker config.json or pull secret of the form {"auths": {"<registry>": {"auth": "<base64 user:password>"}}}.',
    details: { file: path },
  });
}

function parseEntry(path: string, key: string, value: unknown): Credentials | undefined {
  if (typeof value !== 'object' || value === null)
    throw configError(path, `the entry for ${JSON.stringify(key)} is not an object`);
  const v = value as Record<string, unknown>;
  if (typeof v.identitytoken === 'string' && v.identitytoken.length > 0) {
    return { username: IDENTITY_TOKEN_USER, password: v.identitytoken };
  }
  if (typeof v.auth === 'string' && v.auth.length > 0) {
    const decoded = Buffer.from(v.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw configError(path, `the "auth" value for ${JSON.stringify(key)} is not base64 of user:password`);
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof v.username === 'string' && typeof v.password === 'string' && v.username.length > 0) {
    return { username: v.username, password: v.password };
  }
  return undefined; // e.g. an entry kept only for credHelpers, or an empty one
}

async function readAuthFile(path: string, required: boolean): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    throw new BaleError(
      'E_CONFIG',
      code === 'ENOENT'
        ? `registry credentials file ${path} does not exist`
        : `cannot read registry credentials file ${path} (${code ?? 'error'})`,
      { hint: 'Check the path given to --registry-config or REGISTRY_AUTH_FILE.', details: { file: path } },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Deliberately no cause: JSON.parse messages quote the file's content.
    throw configError(path, 'is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw configError(path, 'is not a JSON object');
  const auths = (json as Record<string, unknown>).auths;
  const entries = new Map<string, Credentials>();
  if (auths === undefined) return { path, entries };
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    throw configError(path, '"auths" is not an object');
  for (const [key, value] of Object.entries(auths)) {
    const creds = parseEntry(path, key, value);
    if (creds === undefined) continue;
    const host = normalizeAuthKey(key);
    // An exact key wins over a scheme-qualified one for the same host.
    if (!entries.has(host) || normalizeAuthKey(key) === key) entries.set(host, creds);
  }
  return { path, entries };
}

class FileCredentialSource implements CredentialSource {
  constructor(
    private readonly files: AuthFile[],
    private readonly consulted: string[],
  ) {}

  lookup(registry: string): Credentials | undefined {
    const host = normalizeAuthKey(registry);
    for (const f of this.files) {
      const c = f.entries.get(host);
      if (c !== undefined) return c;
    }
    return undefined;
  }

  describe(): string {
    return this.consulted.length === 0 ? 'no credentials files' : this.consulted.join(', ');
  }
}

/** Reads the credentials files in look-up order. E_CONFIG for a missing explicit file or malformed JSON. */
export async function loadCredentials(opts: LoadCredentialsOptions): Promise<CredentialSource> {
  const candidates: { path: string; required: boolean }[] = [];
  if (opts.registryConfig !== undefined && opts.registryConfig.length > 0) {
    candidates.push({ path: opts.registryConfig, required: true });
  } else {
    const envFile = opts.env.REGISTRY_AUTH_FILE;
    if (envFile !== undefined && envFile.length > 0) candidates.push({ path: envFile, required: true });
    const xdg = opts.env.XDG_RUNTIME_DIR;
    if (xdg !== undefined && xdg.length > 0)
      candidates.push({ path: join(xdg, 'containers', 'auth.json'), required: false });
    candidates.push({ path: join(opts.homeDir, '.docker', 'config.json'), required: false });
  }
  const files: AuthFile[] = [];
  for (const c of candidates) {
    const f = await readAuthFile(c.path, c.required);
    if (f !== undefined) files.push(f);
  }
  return new FileCredentialSource(
    files,
    files.map((f) => f.path),
  );
}

/** A fixed set of credentials (tests, library callers). */
export function staticCredentials(map: Record<string, Credentials>): CredentialSource {
  const entries = new Map(Object.entries(map).map(([k, v]) => [normalizeAuthKey(k), v]));
  return {
    lookup: (registry) => entries.get(normalizeAuthKey(registry)),
    describe: () => 'credentials given by the caller',
  };
}
