/**
 * A plain-HTTP distribution registry (/usr/bin/docker-registry) on a free 127.0.0.1
 * port, for the benchmark. The same approach as test/helpers/registry.ts (which is not
 * compiled into dist/): a small `sh` watchdog starts the registry and kills it when our
 * stdin pipe closes, so a benchmark that dies never leaves a registry behind.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryProcess {
  /** 127.0.0.1:port */
  host: string;
  rootDir: string;
  /** The filesystem driver's root: what `tar` reads for the bound. */
  storageDir: string;
  /** The registry's own pid (for CPU accounting from /proc). */
  pid: number | undefined;
  stop(): Promise<void>;
}

const WATCHDOG = [
  'docker_registry="$1"; config="$2"; log="$3"',
  'exec 3<&0',
  '"$docker_registry" serve "$config" >>"$log" 2>&1 3<&- &',
  'pid=$!',
  'echo "$pid"',
  '( read -r _ignored <&3; kill "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join('\n');

const live = new Set<() => void>();
let hooked = false;
function onExit(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const k of live) k();
    });
  }
  live.add(kill);
  return () => live.delete(kill);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function probe(host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { method: 'GET', timeout: 1000, agent: false });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Starts a registry with its storage under a new directory in `parentDir`. */
export async function startRegistryProcess(parentDir: string): Promise<RegistryProcess> {
  const rootDir = await mkdtemp(join(parentDir, 'registry-'));
  const storageDir = join(rootDir, 'storage');
  const configFile = join(rootDir, 'config.yml');
  const logFile = join(rootDir, 'registry.log');
  await mkdir(storageDir);
  for (let attempt = 0; attempt < 4; attempt++) {
    const host = `127.0.0.1:${await freePort()}`;
    const config = {
      version: '0.1',
      log: { level: 'warn', formatter: 'text' },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        cache: { blobdescriptor: 'inmemory' },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: host, secret: randomBytes(16).toString('hex') },
      health: { storagedriver: { enabled: false } },
    };
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const child: ChildProcessByStdio<Writable, Readable, null> = spawn(
      'sh',
      ['-c', WATCHDOG, 'watchdog', REGISTRY_BINARY, configFile, logFile],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    child.stdin.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let dead = false;
    void exited.then(() => (dead = true));
    const pid = await new Promise<number | undefined>((resolve) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('\n')) resolve(Number.parseInt(text, 10));
      });
      void exited.then(() => resolve(undefined));
    });
    child.stdout.resume();
    const kill = (): void => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      child.kill('SIGKILL');
    };
    const unregister = onExit(kill);
    const started = Date.now();
    let ready = false;
    while (!dead && Date.now() - started < 10_000) {
      if ((await probe(host)) === 200) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!ready) {
      kill();
      await exited;
      unregister();
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (/address already in use/i.test(log)) continue;
      await rm(rootDir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start on ${host}: ${log.split('\n').slice(-5).join('\n')}`);
    }
    let stopped: Promise<void> | undefined;
    return {
      host,
      rootDir,
      storageDir,
      pid,
      stop() {
        stopped ??= (async () => {
          child.stdin.end();
          const timer = setTimeout(kill, 3000);
          await exited;
          clearTimeout(timer);
          unregister();
          await rm(rootDir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
  await rm(rootDir, { recursive: true, force: true });
  throw new Error('docker-registry could not bind a free port');
}

/** User+system CPU seconds a process has used so far (Linux /proc), or undefined. */
export async function processCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name (which may hold spaces) start at ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100; // USER_HZ is 100 on Linux
}
