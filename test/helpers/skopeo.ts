/**
 * skopeo as an independent registry client for tests: push a tiny image into a test
 * registry, read manifests back, copy images out to `dir:`. Runs with its own
 * accept-anything signature policy and an empty auth file so the host's container
 * configuration never leaks in.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestRegistry } from './registry.js';
import { run, type RunOptions, type RunResult } from './run.js';
import { makeTempDir } from './tmp.js';
import { makeTinyImage, writeOciLayout, type TinyImage, type TinyImageOptions } from './tiny-image.js';

export const SKOPEO_BINARY = 'skopeo';

let isolation: Promise<{ policy: string; authFile: string }> | undefined;

function isolated(): Promise<{ policy: string; authFile: string }> {
  isolation ??= (async () => {
    const dir = await makeTempDir('bale-skopeo-');
    const policy = join(dir, 'policy.json');
    const authFile = join(dir, 'auth.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(authFile, JSON.stringify({ auths: {} }));
    return { policy, authFile };
  })();
  return isolation;
}

/** Runs `skopeo --policy <accept-anything> <args>`; never throws on a non-zero exit. */
export async function skopeo(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { policy, authFile } = await isolated();
  const env = { ...(opts.env ?? process.env), REGISTRY_AUTH_FILE: authFile };
  return run(SKOPEO_BINARY, ['--policy', policy, ...args], { timeoutMs: 60_000, ...opts, env });
}

/** skopeo() that throws with stderr on failure. */
export async function skopeoOk(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await skopeo(args, opts);
  if (result.code !== 0)
    throw new Error(`skopeo ${args[0] ?? ''} failed (${result.code}): ${result.stderr.trim()}`);
  return result;
}

export interface CredsOption {
  /** Send the registry's first user (default), other credentials, or none at all. */
  creds?: 'default' | 'none' | { username: string; password: string };
}

/**
 * Flags for talking to a TestRegistry. `role` prefixes them for copy (`src`/`dest`);
 * '' gives inspect-style flags.
 */
export function registryFlags(
  reg: TestRegistry,
  role: '' | 'src' | 'dest',
  opts: CredsOption = {},
): string[] {
  const p = role === '' ? '--' : `--${role}-`;
  const flags: string[] = [];
  if (reg.tls) {
    flags.push(`${p}tls-verify=true`);
    if (reg.certDir !== undefined) flags.push(`${p}cert-dir`, reg.certDir);
  } else flags.push(`${p}tls-verify=false`);
  const creds = opts.creds ?? 'default';
  if (creds === 'none' || (creds === 'default' && reg.username === undefined)) {
    flags.push(`${p}no-creds`);
  } else {
    const user = creds === 'default' ? { username: reg.username ?? '', password: reg.password ?? '' } : creds;
    flags.push(`${p}creds`, `${user.username}:${user.password}`);
  }
  return flags;
}

/** `repo:tag`, `repo@digest` or `host/repo...` → `docker://host/repo...` for this registry. */
export function dockerRef(ref: string, reg: TestRegistry): string {
  if (ref.startsWith('docker://')) return ref;
  if (ref.startsWith(`${reg.host}/`)) return `docker://${ref}`;
  return `docker://${reg.host}/${ref}`;
}

/** `skopeo inspect --raw`: the manifest bytes exactly as the registry serves them. Throws on failure. */
export async function skopeoInspectRaw(
  ref: string,
  reg: TestRegistry,
  opts: CredsOption = {},
): Promise<string> {
  const { stdout } = await skopeoOk([
    'inspect',
    '--raw',
    ...registryFlags(reg, '', opts),
    dockerRef(ref, reg),
  ]);
  return stdout;
}

/** Copies an image out of the registry into skopeo's `dir:` format. Throws on failure. */
export async function skopeoCopyToDir(
  ref: string,
  dir: string,
  reg: TestRegistry,
  opts: CredsOption = {},
): Promise<void> {
  await skopeoOk([
    'copy',
    '--retry-times',
    '0',
    ...registryFlags(reg, 'src', opts),
    dockerRef(ref, reg),
    `dir:${dir}`,
  ]);
}

/** Copies a local source (`oci:`, `dir:` ...) into the registry, keeping the manifest bytes. */
export async function skopeoCopyToRegistry(
  source: string,
  ref: string,
  reg: TestRegistry,
  opts: CredsOption = {},
): Promise<RunResult> {
  return skopeo([
    'copy',
    '--preserve-digests',
    '--retry-times',
    '0',
    ...registryFlags(reg, 'dest', opts),
    source,
    dockerRef(ref, reg),
  ]);
}

/**
 * Builds a tiny image from a seed and pushes it with skopeo to `ref` (`repo:tag`).
 * Returns the image (its manifest digest is what the registry stores). Throws on failure.
 */
export async function pushTinyImage(
  reg: TestRegistry,
  ref: string,
  seed: number,
  opts: TinyImageOptions & CredsOption = {},
): Promise<TinyImage> {
  const image = makeTinyImage(seed, opts);
  const layoutDir = await makeTempDir('bale-tiny-');
  const source = await writeOciLayout(image, layoutDir);
  const result = await skopeoCopyToRegistry(source, ref, reg, opts);
  if (result.code !== 0) throw new Error(`skopeo copy to ${ref} failed: ${result.stderr.trim()}`);
  return image;
}
