/** Shared checks for the pack tests: what a finished bundle looks like from outside. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { readBundleJson } from '../../helpers/bundle-json.js';

const execFileP = promisify(execFile);

/** Runs a command; rejects with its stderr when it fails. */
export async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { cwd, maxBuffer: 64 << 20 });
  return stdout;
}

/** bundle.json as written, unvalidated (test/helpers/bundle-json.ts). */
export const readIndex = readBundleJson;

export async function volumeNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^volume-\d{3}\.tar\.zst$/.test(n)).sort();
}

/**
 * A finished bundle holds only volumes, bundle.json, SHA256SUMS (and bundle.json.asc
 * when signed): no .bale/, no temporary files; and `sha256sum -c` passes inside it.
 */
export async function expectFinishedBundle(dir: string, opts: { signed?: boolean } = {}): Promise<void> {
  const names = (await readdir(dir)).sort();
  const volumes = await volumeNames(dir);
  expect(volumes.length).toBeGreaterThan(0);
  const expected = [
    ...volumes,
    'SHA256SUMS',
    'bundle.json',
    ...(opts.signed ? ['bundle.json.asc'] : []),
  ].sort();
  expect(names).toEqual(expected);
  const out = await sh('sha256sum', ['-c', 'SHA256SUMS'], dir);
  expect(out.trim().split('\n').sort()).toEqual(
    ['bundle.json: OK', ...volumes.map((v) => `${v}: OK`)].sort(),
  );
}

/** `zstd -dc VOL | tar -x` into a fresh directory: the volume alone, with standard tools. */
export async function extractAlone(volume: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  await sh('sh', ['-c', 'zstd -dc "$1" | tar -x -C "$2"', 'sh', volume, into]);
}

/** Entry names of a volume in tar order (`zstd -dc | tar -t`). */
export async function listVolume(volume: string): Promise<string[]> {
  const out = await sh('sh', ['-c', 'zstd -dc "$1" | tar -t', 'sh', volume]);
  return out.split('\n').filter((l) => l !== '');
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Volumes of two bundles are the same files, byte for byte (`cmp`). */
export async function expectSameVolumes(a: string, b: string): Promise<void> {
  const va = await volumeNames(a);
  expect(await volumeNames(b)).toEqual(va);
  for (const v of va) await sh('cmp', [join(a, v), join(b, v)]);
}

/** Everything but `created` of two indexes is equal. */
export async function expectSameIndex(a: string, b: string): Promise<void> {
  const ia = { ...(await readIndex(a)), created: '' };
  const ib = { ...(await readIndex(b)), created: '' };
  expect(ib).toEqual(ia);
}
