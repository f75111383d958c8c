/**
 * Shared rig for the reliability suite: a source registry holding the synthetic release
 * *behind a fault proxy* (the release payload names the proxy, so every component pull
 * goes through it too), a destination registry behind another proxy, seeded randomness,
 * and the comparisons the tests need (bundle byte-identity, mirror identity, blob bytes
 * fetched from a proxy log).
 *
 * Seeds: BALE_TEST_SEED overrides the suite's seed; every test prints the seed it used.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import {
  buildFixtureRelease,
  type FixtureRelease,
  type FixtureReleaseOptions,
  fixturePackArgs,
} from '../../fixtures/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { spawnBale, type BaleRun } from '../helpers/bale.js';
import { startFaultProxy, type FaultPlan, type FaultProxy, type RequestLog } from '../helpers/fault-proxy.js';
import { mulberry32 } from '../helpers/prng.js';
import { startRegistry, writeAuthFile, type TestRegistry } from '../helpers/registry.js';
import { skopeo, registryFlags } from '../helpers/skopeo.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

/** The suite's seed: BALE_TEST_SEED, else a fixed default so CI runs repeat. */
export function suiteSeed(offset = 0): number {
  const env = process.env.BALE_TEST_SEED;
  const base = env !== undefined && env !== '' ? Number.parseInt(env, 10) : 20_240_601;
  if (!Number.isFinite(base)) throw new Error(`BALE_TEST_SEED=${env} is not a number`);
  return (base + offset) >>> 0;
}

/** Prints the seed so a failing run can be repeated (`BALE_TEST_SEED=<n> npx vitest run test/reliability`). */
export function announceSeed(what: string, seed: number): () => number {
  console.log(`[reliability] ${what}: seed ${seed} (override with BALE_TEST_SEED)`);
  return mulberry32(seed);
}

export interface ProxiedSource {
  reg: TestRegistry;
  proxy: FaultProxy;
  fx: FixtureRelease;
  work: string;
  /** docker config.json giving the proxy host the registry's credentials. */
  authFile: string;
  /** `bale pack` arguments for this release through the proxy, into `to`. */
  packArgs(to: string, extra?: string[]): string[];
  stop(): Promise<void>;
}

/**
 * A plain-HTTP registry holding the fixture release, reached through a fault proxy. The
 * fixture is pushed through the proxy (with no faults) so that the payload's component
 * references name the proxy host.
 */
export async function startProxiedSource(
  opts: { seed: number; auth?: 'none' | 'htpasswd' | 'token' } & Partial<Omit<FixtureReleaseOptions, 'seed'>>,
): Promise<ProxiedSource> {
  const { seed, auth, ...fixtureOpts } = opts;
  const reg = await startRegistry({ auth: auth ?? 'none' });
  const proxy = await startFaultProxy(reg.host, {});
  const work = await makeTempDir('bale-rel-');
  const authFile = await writeAuthFile(reg, join(work, 'src-auth.json'), proxy.host);
  const credentials = await loadCredentials({ registryConfig: authFile, env: {}, homeDir: work });
  const client = new RegistryClient({ credentials });
  let fx: FixtureRelease;
  try {
    fx = await buildFixtureRelease(client, {
      ...fixtureOpts,
      registry: proxy.host,
      seed,
      workDir: join(work, 'fx'),
    });
  } finally {
    await client.close();
  }
  proxy.log.length = 0;
  return {
    reg,
    proxy,
    fx,
    work,
    authFile,
    packArgs: (to, extra = []) => [
      ...fixturePackArgs(fx),
      '--registry-config',
      authFile,
      '--to',
      to,
      ...extra,
    ],
    stop: async () => {
      await proxy.stop();
      await reg.stop();
      await removeTempDir(work);
    },
  };
}

export interface ProxiedDestination {
  reg: TestRegistry;
  proxy: FaultProxy;
  authFile: string;
  /** `--to` value: `<proxy host>/<prefix>`. */
  to: string;
  stop(): Promise<void>;
}

/** A destination registry (fresh storage) behind a fault proxy, and an auth file for the proxy host. */
export async function startProxiedDestination(
  work: string,
  opts: { auth?: 'none' | 'htpasswd' | 'token'; prefix?: string; name?: string } = {},
): Promise<ProxiedDestination> {
  const reg = await startRegistry({ auth: opts.auth ?? 'none' });
  const proxy = await startFaultProxy(reg.host, {});
  const authFile = await writeAuthFile(reg, join(work, `${opts.name ?? 'dest'}-auth.json`), proxy.host);
  return {
    reg,
    proxy,
    authFile,
    to: `${proxy.host}/${opts.prefix ?? 'mirror'}`,
    stop: async () => {
      await proxy.stop();
      await reg.stop();
    },
  };
}

/** A flaky-registry plan: 503s, 429 + Retry-After, blob GETs reset midway, stalls (all seeded). */
export function flakyPlan(seed: number, opts: { uploads?: boolean } = {}): FaultPlan {
  return {
    seed,
    rules: [
      // a quarter of blob downloads are cut off part-way (after 4 KiB: most blobs are larger,
      // so that which requests the seeded draw hits does not decide whether any is cut)
      {
        name: 'reset-blob',
        method: 'GET',
        path: /\/blobs\/sha256:/,
        probability: 0.25,
        fault: { kind: 'reset', afterBytes: 4096 },
      },
      ...(opts.uploads
        ? [
            {
              name: 'reset-upload',
              method: 'PATCH|PUT',
              path: /\/blobs\/uploads\//,
              probability: 0.1,
              fault: { kind: 'reset' as const, afterBytes: 8 * 1024, on: 'request' as const },
            },
          ]
        : []),
      { name: '429', probability: 0.04, fault: { kind: 'status', status: 429, retryAfter: 1 } },
      { name: 'stall', probability: 0.03, fault: { kind: 'stall', ms: 1500 } },
      { name: '503', probability: 0.15, fault: { kind: 'status', status: 503 } },
    ],
  };
}

export interface FaultCounts {
  requests: number;
  byFault: Record<string, number>;
  injected: number;
}

export function countFaults(log: RequestLog[]): FaultCounts {
  const byFault: Record<string, number> = {};
  let injected = 0;
  for (const e of log) {
    if (e.fault === undefined) continue;
    byFault[e.fault] = (byFault[e.fault] ?? 0) + 1;
    injected++;
  }
  return { requests: log.length, byFault, injected };
}

/** Response body bytes of blob GETs in a proxy log (from `from` on). */
export function blobBytesFetched(log: RequestLog[], from = 0): number {
  let n = 0;
  for (const e of log.slice(from)) {
    if (e.method === 'GET' && /\/blobs\/sha256:/.test(e.path)) n += e.bytes;
  }
  return n;
}

/** Request body bytes of blob uploads (PATCH/PUT) in a proxy log. */
export function uploadBytesSent(log: RequestLog[], from = 0): number {
  let n = 0;
  for (const e of log.slice(from)) {
    if ((e.method === 'PATCH' || e.method === 'PUT') && /\/blobs\/uploads\//.test(e.path))
      n += e.requestBytes;
  }
  return n;
}

/** Runs a spawned bale to completion, collecting output (optionally bounded). */
export function collect(child: ChildProcess, timeoutMs = 180_000): Promise<BaleRun & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs bale and returns output and wall time. */
export async function bale(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<BaleRun & { ms: number }> {
  return collect(spawnBale(args, { env: opts.env }), opts.timeoutMs);
}

export function parseJson<T = Record<string, unknown>>(run: BaleRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(
      `bale printed no JSON (exit ${run.code}): stdout=${run.stdout.slice(0, 500)} stderr=${run.stderr.slice(-2000)}`,
    );
  }
}

export function describeRun(run: BaleRun): string {
  return `exit ${run.code} signal ${run.signal}\nstdout: ${run.stdout.slice(-1500)}\nstderr: ${run.stderr.slice(-3000)}`;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file under `dir` (relative path → sha256). */
export async function treeHashes(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    for (const ent of await readdir(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) out.set(rel, await sha256File(p));
      else out.set(rel, `(${ent.isSymbolicLink() ? 'symlink' : 'other'})`);
    }
  }
  await walk(dir);
  return out;
}

/** The bundle's files as compared between two packs: volumes and SHA256SUMS by hash, bundle.json without `created`. */
export async function bundleFingerprint(
  dir: string,
): Promise<{ files: string[]; volumes: Record<string, string>; index: unknown }> {
  const files = (await readdir(dir)).sort();
  const volumes: Record<string, string> = {};
  for (const f of files) if (f.startsWith('volume-')) volumes[f] = await sha256File(join(dir, f));
  const index = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as Record<string, unknown>;
  delete index.created;
  return { files, volumes, index };
}

/**
 * What a distribution registry's storage says is in it: every repository link
 * (layers, manifest revisions, tags: the `link` files, upload sessions excluded) and,
 * for every blob data file, whether its content hashes to its name.
 */
export async function mirrorFingerprint(
  reg: TestRegistry,
): Promise<{ links: Record<string, string>; blobs: number; badBlobs: string[] }> {
  const root = join(reg.storageDir, 'docker/registry/v2');
  const links: Record<string, string> = {};
  const badBlobs: string[] = [];
  let blobs = 0;
  async function walk(d: string): Promise<void> {
    let ents;
    try {
      ents = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of ents) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) {
        if (ent.name === '_uploads') continue;
        await walk(p);
      } else if (ent.name === 'link') {
        links[relative(root, p)] = await readFile(p, 'utf8');
      } else if (ent.name === 'data') {
        blobs++;
        const hex = relative(root, d).split('/').at(-1) ?? '';
        if ((await sha256File(p)) !== hex) badBlobs.push(hex);
      }
    }
  }
  await walk(join(root, 'repositories'));
  await walk(join(root, 'blobs'));
  return { links, blobs, badBlobs };
}

/**
 * skopeo's view of a mirror: for every image of the bundle, `inspect --raw` by digest
 * must hash to that digest, and `copy --all` by digest (which checks every blob's digest)
 * must succeed. Returns the failures.
 */
export async function skopeoCheckMirror(
  reg: TestRegistry,
  prefix: string,
  images: { repository: string; digest: string }[],
  scratch: string,
): Promise<string[]> {
  const failures: string[] = [];
  await mkdir(scratch, { recursive: true });
  for (const [i, img] of images.entries()) {
    const ref = `docker://${reg.host}/${prefix}/${img.repository}@${img.digest}`;
    const raw = await skopeo(['inspect', '--raw', ...registryFlags(reg, ''), ref]);
    if (raw.code !== 0) {
      failures.push(`${ref}: inspect failed: ${raw.stderr.trim()}`);
      continue;
    }
    const got = `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`;
    // skopeo prints the raw bytes; a trailing newline is not part of them only if it adds one
    if (got !== img.digest) {
      const trimmed = `sha256:${createHash('sha256').update(raw.stdout.replace(/\n$/, '')).digest('hex')}`;
      if (trimmed !== img.digest) failures.push(`${ref}: manifest hashes to ${got}`);
    }
    const copy = await skopeo([
      'copy',
      '--all',
      '--retry-times',
      '0',
      ...registryFlags(reg, 'src'),
      ref,
      `dir:${join(scratch, `img-${i}`)}`,
    ]);
    if (copy.code !== 0) failures.push(`${ref}: copy failed: ${copy.stderr.trim()}`);
  }
  return failures;
}

/** The bundle's images as (repository, digest) pairs. */
export async function bundleImages(bundleDir: string): Promise<{ repository: string; digest: string }[]> {
  const index = JSON.parse(await readFile(join(bundleDir, 'bundle.json'), 'utf8')) as {
    images: { repository: string; digest: string }[];
  };
  return index.images.map((i) => ({ repository: i.repository, digest: i.digest }));
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { waitFor } from '../helpers/wait.js';
