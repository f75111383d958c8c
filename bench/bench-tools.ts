/**
 * The tool table: each command the benchmark times (bale and its baselines), as a
 * function that runs it once for one repetition, and the environment they run in.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Args } from './bench-args.js';
import type { Tool } from './bench-results.js';
import { processCpuSeconds, timed, type Sample } from './measure.js';
import type { SourceRelease } from './source-release.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root: dist/bench/<file>.js → ../.. */
export const ROOT = resolve(HERE, '..', '..');
export const BALE_BIN = join(ROOT, 'bin', 'bale');

export interface ToolEnv {
  bale: Record<string, string>;
  skopeo: Record<string, string>;
  policy: string;
}

/** What the tools of one size share: the source, the environment, where to put things. */
export interface SizeSetup {
  args: Args;
  src: SourceRelease;
  env: ToolEnv;
  scratch: string;
  /** skopeo sync's YAML source list. */
  yamlFile: string;
  keyring: string;
}

/** Where one repetition's outputs go. */
export interface RepPaths {
  rep: number;
  repDir: string;
  bundle: string;
  skopeoDir: string;
  boundFile: string;
}

export type TimedSample = Sample & { registryCpuS?: number };

/** A HOME of its own, an insecureAcceptAnything policy and an empty auth file. */
export async function toolEnv(work: string): Promise<ToolEnv> {
  const home = join(work, 'home');
  await mkdir(home, { recursive: true });
  const policy = join(home, 'policy.json');
  const authFile = join(home, 'auth.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(authFile, JSON.stringify({ auths: {} }));
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', CI: 'true' };
  return {
    bale: { ...base, REGISTRY_AUTH_FILE: authFile },
    skopeo: { ...base, REGISTRY_AUTH_FILE: authFile },
    policy,
  };
}

/** Push dirty pages out between runs so one run's writeback does not land on the next. */
export function flush(): void {
  spawnSync('sync');
}

export function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Times `f`, adding the CPU seconds the registry process `pid` used meanwhile. */
export async function withRegistryCpu(
  pid: number | undefined,
  f: () => Promise<Sample>,
): Promise<TimedSample> {
  const before = await processCpuSeconds(pid);
  const s = await f();
  const after = await processCpuSeconds(pid);
  return before !== undefined && after !== undefined ? { ...s, registryCpuS: after - before } : s;
}

/** bale pack, skopeo sync to a directory, and the tar | zstd -1 bound, from the source registry. */
export function packTools(s: SizeSetup, p: RepPaths): [Tool, () => Promise<TimedSample>][] {
  const { src, env, scratch } = s;
  return [
    [
      'bale pack',
      () =>
        withRegistryCpu(src.registry.pid, () =>
          timed(
            process.execPath,
            [BALE_BIN, ...src.packArgs, ...s.args.packExtra, '--to', p.bundle, '--json'],
            {
              env: env.bale,
              scratch,
            },
          ),
        ),
    ],
    [
      'skopeo sync → dir',
      () =>
        withRegistryCpu(src.registry.pid, () =>
          timed(
            'skopeo',
            [
              ...['--policy', env.policy, 'sync', '--all', '--preserve-digests'],
              ...['--src', 'yaml', '--dest', 'dir', '--src-tls-verify=false', s.yamlFile, p.skopeoDir],
            ],
            { env: env.skopeo, scratch },
          ),
        ),
    ],
    [
      'tar | zstd -1 (bound)',
      () =>
        timed(
          'sh',
          ['-c', 'tar -cf - -C "$1" . | zstd -1 -q -c > "$2"', 'bound', src.registry.storageDir, p.boundFile],
          { env: env.skopeo, scratch },
        ),
    ],
  ];
}

/** bale verify and sha256sum over the repetition's bundle. */
export async function verifyTools(s: SizeSetup, p: RepPaths): Promise<[Tool, () => Promise<Sample>][]> {
  const { env, scratch } = s;
  const vols = (await readdir(p.bundle)).filter((n) => n.startsWith('volume-')).map((n) => join(p.bundle, n));
  return [
    [
      'bale verify',
      () =>
        timed(
          process.execPath,
          [BALE_BIN, 'verify', p.bundle, '--keyring', s.keyring, '--allow-unsigned', '--json'],
          {
            env: env.bale,
            scratch,
          },
        ),
    ],
    ['sha256sum volumes', () => timed('sha256sum', vols, { env: env.skopeo, scratch })],
  ];
}

/** How to run one unpack-side tool against a fresh destination registry at `host`. */
export type UnpackTool = [Tool, (host: string) => string[], string, Record<string, string>];

/** bale unpack (one pass and --verify-first) and skopeo sync from the directory, each into a fresh registry. */
export function unpackTools(s: SizeSetup, p: RepPaths): UnpackTool[] {
  const { env, keyring } = s;
  const baleUnpack = (host: string, extra: string[], manifests: string): string[] => [
    ...[BALE_BIN, 'unpack', p.bundle, '--to', `${host}/mirror`, ...extra, '--keyring', keyring],
    // The extra --image content (the compressible image) is not anchored by the release signature.
    '--allow-unsigned',
    ...['--manifests-to-dir', join(p.repDir, manifests), '--json'],
  ];
  return [
    ['bale unpack --to', (host) => baleUnpack(host, [], 'manifests'), process.execPath, env.bale],
    [
      // --verify-first: the audit, then a second read to push (unpack before issue 13).
      'bale unpack --to (two passes)',
      (host) => baleUnpack(host, ['--verify-first'], 'manifests-two-passes'),
      process.execPath,
      env.bale,
    ],
    [
      'skopeo sync dir → docker',
      (host) => [
        ...[
          '--policy',
          env.policy,
          'sync',
          '--all',
          '--preserve-digests',
          '--src',
          'dir',
          '--dest',
          'docker',
        ],
        ...['--dest-tls-verify=false', p.skopeoDir, `${host}/mirror`],
      ],
      'skopeo',
      env.skopeo,
    ],
  ];
}
