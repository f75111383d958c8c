/**
 * A real distribution registry (Debian's /usr/bin/docker-registry, distribution 2.8)
 * on 127.0.0.1 for tests, in four flavours: plain HTTP, htpasswd basic auth, TLS with a
 * per-run CA, and token auth backed by an in-process token issuer.
 *
 * The registry runs under a small `sh` watchdog that kills it when our stdin pipe closes,
 * so a test process that dies (even by SIGKILL) never leaves a registry behind; at normal
 * process exit an exit hook also SIGKILLs it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { makeSelfSignedCert, makeTestCa } from './test-ca.js';
import { startTokenIssuer } from './token-issuer.js';
import type { TestUser, TokenIssuer, TokenIssuerOptions } from './token-issuer.js';
import { freePort, makeTempDir, onProcessExit, removeTempDir } from './tmp.js';
import { htpasswdLines } from './htpasswd.js';

export type { TestUser } from './token-issuer.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

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

/** Shell watchdog: prints the registry pid, kills it when stdin reaches EOF. */
const WATCHDOG = [
  'docker_registry="$1"; config="$2"; log="$3"',
  // Background jobs get /dev/null as stdin, so keep our pipe on fd 3.
  'exec 3<&0',
  '"$docker_registry" serve "$config" >>"$log" 2>&1 3<&- &',
  'pid=$!',
  'echo "$pid"',
  '( read -r _ignored <&3; kill "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join('\n');

function probe(url: string, caPem: Buffer | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const target = new URL('/v2/', url);
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { method: 'GET', ca: caPem, timeout: 1000, agent: false })
        : httpRequest(target, { method: 'GET', timeout: 1000, agent: false });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
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

type Watchdog = ChildProcessByStdio<Writable, Readable, null>;

interface Launched {
  child: Watchdog;
  registryPid: number | undefined;
  exited: Promise<number | null>;
}

async function launch(configFile: string, logFile: string): Promise<Launched> {
  const child = spawn('sh', ['-c', WATCHDOG, 'watchdog', REGISTRY_BINARY, configFile, logFile], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin.on('error', () => {
    // the watchdog may be gone already
  });
  const registryPid = await new Promise<number | undefined>((resolve) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const line = text.split('\n')[0];
      if (text.includes('\n') && line !== undefined) resolve(Number.parseInt(line, 10));
    });
    void exited.then(() => resolve(undefined));
  });
  child.stdout.resume();
  return { child, registryPid, exited };
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const tls = opts.tls ?? false;
  const users = auth === 'none' ? [] : (opts.users ?? [randomUser()]);
  const rootDir = await makeTempDir('bale-registry-');
  const storageDir = join(rootDir, 'storage');
  const configFile = join(rootDir, 'config.yml');
  const logFile = join(rootDir, 'registry.log');
  const authFile = join(rootDir, 'auth.json');
  await mkdir(storageDir);

  let tokenIssuer: TokenIssuer | undefined;
  try {
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'info', formatter: 'text', fields: { service: 'registry' } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        cache: { blobdescriptor: 'inmemory' },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: '',
        secret: randomBytes(16).toString('hex'),
        headers: { 'X-Content-Type-Options': ['nosniff'] },
      },
      health: { storagedriver: { enabled: false } },
    };
    const http = config.http as Record<string, unknown>;

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

    const first = users[0];
    const auths: Record<string, { auth: string }> = {};
    // host is known only after the port is chosen; written below.

    const caPem = caFile === undefined ? undefined : await readFile(caFile);
    const deadlineMs = opts.startTimeoutMs ?? 10_000;
    let lastError = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      http.addr = host;
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const launched = await launch(configFile, logFile);
      const unregister = onProcessExit(() => {
        if (launched.registryPid !== undefined) {
          try {
            process.kill(launched.registryPid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        launched.child.kill('SIGKILL');
      });
      let dead = false;
      void launched.exited.then(() => {
        dead = true;
      });
      const url = `${tls ? 'https' : 'http'}://${host}`;
      const started = Date.now();
      let ready = false;
      while (!dead && Date.now() - started < deadlineMs) {
        const status = await probe(url, caPem);
        if (status === 200 || status === 401) {
          ready = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!ready) {
        launched.child.stdin.end();
        const killTimer = setTimeout(() => launched.child.kill('SIGKILL'), 2000);
        await launched.exited;
        clearTimeout(killTimer);
        unregister();
        const log = await readFile(logFile, 'utf8').catch(() => '');
        lastError = log.split('\n').slice(-5).join('\n');
        if (/address already in use/i.test(log)) continue;
        throw new Error(`docker-registry did not start on ${host}: ${lastError}`);
      }

      if (first !== undefined) {
        auths[host] = { auth: Buffer.from(`${first.username}:${first.password}`).toString('base64') };
      }
      await writeFile(authFile, JSON.stringify({ auths }, null, 2));

      let stopped: Promise<void> | undefined;
      const issuer = tokenIssuer;
      return {
        host,
        url,
        rootDir,
        storageDir,
        configFile,
        caFile,
        certDir,
        username: first?.username,
        password: first?.password,
        users,
        authFile,
        logFile,
        auth,
        tls,
        tokenIssuer,
        stop() {
          stopped ??= (async () => {
            launched.child.stdin.end();
            const killTimer = setTimeout(() => {
              if (launched.registryPid !== undefined) {
                try {
                  process.kill(launched.registryPid, 'SIGKILL');
                } catch {
                  // gone
                }
              }
              launched.child.kill('SIGKILL');
            }, 3000);
            await launched.exited;
            clearTimeout(killTimer);
            unregister();
            await issuer?.stop();
            await removeTempDir(rootDir);
          })();
          return stopped;
        },
      };
    }
    throw new Error(`docker-registry could not bind a free port: ${lastError}`);
  } catch (err) {
    await tokenIssuer?.stop();
    await removeTempDir(rootDir);
    throw err;
  }
}
