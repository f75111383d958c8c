/**
 * A real distribution registry (Debian's /usr/bin/docker-registry, distribution 2.8)
 * on 127.0.0.1 for tests, in four flavours: plain HTTP, htpasswd basic auth, TLS with a
 * per-run CA, and token auth backed by an in-process token issuer.
 *
 * The registry runs under a small `sh` watchdog that kills it when our stdin pipe closes,
 * so a test process that dies (even by SIGKILL) never leaves a registry behind; at normal
 * process exit an exit hook also SIGKILLs it.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistryProcess } from '../../fixtures/registry-process.js';
import { makeSelfSignedCert, makeTestCa } from './test-ca.js';
import { startTokenIssuer } from './token-issuer.js';
import type { TestUser, TokenIssuer, TokenIssuerOptions } from './token-issuer.js';
import { makeTempDir, removeTempDir } from './tmp.js';
import { htpasswdLines } from './htpasswd.js';

export type { TestUser } from './token-issuer.js';

export { REGISTRY_BINARY } from '../../fixtures/registry-process.js';

export interface StartRegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  tls?: boolean;
  /** Users for htpasswd/token auth; default one random user. */
  users?: TestUser[];
  /** Token issuer settings (auth: 'token'). */
  token?: Omit<TokenIssuerOptions, 'users' | 'tls'>;
  /** Max time to wait for GET /v2/ to answer (default 10 s). */
  startTimeoutMs?: number;
}

export interface TestRegistry {
  /** 127.0.0.1:port */
  host: string;
  /** http(s)://host */
  url: string;
  rootDir: string;
  storageDir: string;
  configFile: string;
  /** CA certificate PEM (tls). */
  caFile?: string;
  /** Directory holding ca.crt only, for skopeo/containers `--cert-dir` (tls). */
  certDir?: string;
  /** First user (auth variants). */
  username?: string;
  password?: string;
  users: TestUser[];
  /** Docker config.json: {"auths":{host:{auth}}} for the first user; empty auths without auth. */
  authFile: string;
  /** Registry stdout+stderr. */
  logFile: string;
  auth: 'none' | 'htpasswd' | 'token';
  tls: boolean;
  /** The in-process token server (auth: 'token'). */
  tokenIssuer?: TokenIssuer;
  stop(): Promise<void>;
}

function randomUser(): TestUser {
  return {
    username: `user-${randomBytes(4).toString('hex')}`,
    password: randomBytes(12).toString('base64url'),
  };
}

/**
 * Writes a docker config.json that gives `host` (default the registry's own host; pass a
 * fault proxy's host to reach the registry through it) the registry's first user.
 * Without auth the file has empty `auths`. Returns the path.
 */
export async function writeAuthFile(reg: TestRegistry, path: string, host = reg.host): Promise<string> {
  const auths: Record<string, { auth: string }> = {};
  if (reg.username !== undefined && reg.password !== undefined) {
    auths[host] = { auth: Buffer.from(`${reg.username}:${reg.password}`).toString('base64') };
  }
  await writeFile(path, JSON.stringify({ auths }, null, 2));
  return path;
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const tls = opts.tls ?? false;
  const users = auth === 'none' ? [] : (opts.users ?? [randomUser()]);
  const rootDir = await makeTempDir('bale-registry-');
  const authFile = join(rootDir, 'auth.json');

  let tokenIssuer: TokenIssuer | undefined;
  try {
    const http: Record<string, unknown> = { headers: { 'X-Content-Type-Options': ['nosniff'] } };
    const config: Record<string, unknown> = { http };

    let caFile: string | undefined;
    let certDir: string | undefined;
    let serverCert: { certFile: string; keyFile: string } | undefined;
    if (tls) {
      const pkiDir = join(rootDir, 'pki');
      await mkdir(pkiDir);
      const ca = await makeTestCa(pkiDir);
      caFile = ca.caFile;
      serverCert = { certFile: ca.certFile, keyFile: ca.keyFile };
      http.tls = { certificate: ca.certFile, key: ca.keyFile };
      certDir = join(rootDir, 'certs.d');
      await mkdir(certDir);
      await copyFile(ca.caFile, join(certDir, 'ca.crt'));
    }

    if (auth === 'htpasswd') {
      const htpasswdFile = join(rootDir, 'htpasswd');
      await writeFile(htpasswdFile, await htpasswdLines(users));
      config.auth = { htpasswd: { realm: 'bale-test-realm', path: htpasswdFile } };
    } else if (auth === 'token') {
      const tokenDir = join(rootDir, 'token');
      await mkdir(tokenDir);
      const signing = await makeSelfSignedCert(tokenDir, 'token-signer');
      tokenIssuer = await startTokenIssuer({
        ...opts.token,
        users,
        certFile: signing.certFile,
        keyFile: signing.keyFile,
        ...(serverCert === undefined ? {} : { tls: serverCert }),
      });
      config.auth = {
        token: {
          realm: tokenIssuer.realm,
          service: tokenIssuer.service,
          issuer: tokenIssuer.issuer,
          rootcertbundle: tokenIssuer.certFile,
        },
      };
    }

    const proc = await startRegistryProcess({
      rootDir,
      logLevel: 'info',
      config,
      ...(caFile === undefined ? {} : { tlsCaPem: await readFile(caFile) }),
      ...(opts.startTimeoutMs === undefined ? {} : { startTimeoutMs: opts.startTimeoutMs }),
    });

    const first = users[0];
    const auths: Record<string, { auth: string }> = {};
    if (first !== undefined) {
      auths[proc.host] = { auth: Buffer.from(`${first.username}:${first.password}`).toString('base64') };
    }
    await writeFile(authFile, JSON.stringify({ auths }, null, 2));

    let stopped: Promise<void> | undefined;
    const issuer = tokenIssuer;
    return {
      host: proc.host,
      url: proc.url,
      rootDir,
      storageDir: proc.storageDir,
      configFile: proc.configFile,
      caFile,
      certDir,
      username: first?.username,
      password: first?.password,
      users,
      authFile,
      logFile: proc.logFile,
      auth,
      tls,
      tokenIssuer,
      stop() {
        stopped ??= (async () => {
          await proc.stop();
          await issuer?.stop();
          await removeTempDir(rootDir);
        })();
        return stopped;
      },
    };
  } catch (err) {
    await tokenIssuer?.stop();
    await removeTempDir(rootDir);
    throw err;
  }
}
