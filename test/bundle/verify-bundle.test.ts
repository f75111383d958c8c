import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { INDEX_FILE } from '../../src/bundle/bundle-index.js';
import { verifyBundle } from '../../src/bundle/verify-bundle.js';
import { DAMAGES, MALFORMED_INDEXES, removeDir, reseal, volumeOf } from '../../fixtures/hostile/damage.js';
import {
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../fixtures/hostile/valid-bundle.js';

const run = promisify(execFile);
let root: string;
let key: SigningKey;
let pristine: ValidBundle;
let copies = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-verify-'));
  key = await makeSigningKey();
  pristine = await buildValidBundle(join(root, 'pristine'), key);
}, 60_000);

afterAll(async () => {
  await removeDir(root);
});

/** A fresh copy of the valid bundle to damage. */
async function copy(): Promise<ValidBundle> {
  const dir = join(root, `copy-${++copies}`);
  await cp(pristine.dir, dir, { recursive: true });
  return { ...pristine, dir, index: structuredClone(pristine.index) };
}

function summary(p: { code: string; volume?: string; entry?: string; file?: string }): object {
  const out: Record<string, string> = { code: p.code };
  if (p.volume !== undefined) out.volume = p.volume;
  if (p.entry !== undefined) out.entry = p.entry;
  if (p.file !== undefined) out.file = p.file;
  return out;
}

describe('a valid bundle', () => {
  test('has several volumes and verifies clean', async () => {
    expect(pristine.index.volumes.length).toBeGreaterThanOrEqual(3);
    const report = await verifyBundle(pristine.dir, { keyrings: [key.keyring] });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.volumes).toBe(pristine.index.volumes.length);
    expect(report.checked.manifests).toBe(2);
    expect(report.checked.tags).toBe(2);
    expect(report.signatures.filter((s) => s.ok).length).toBe(2); // signature file + ConfigMap
  });

  test('passes `sha256sum -c SHA256SUMS` (coreutils)', async () => {
    const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: pristine.dir });
    expect(stdout).toContain('bundle.json: OK');
    for (const v of pristine.index.volumes) expect(stdout).toContain(`${v.name}: OK`);
  });

  test('a volume extracts alone with `zstd -dc | tar -x`, hard link and symlink in place', async () => {
    const vol = volumeOf(pristine, pristine.paths.releaseManifest);
    const out = join(root, 'extract');
    await run('mkdir', ['-p', out]);
    await run('sh', ['-c', `zstd -dc "${join(pristine.dir, vol)}" | tar -x -C "${out}"`]);
    const link = join(out, pristine.paths.releaseManifest);
    const blob = join(out, pristine.paths.releaseManifest.replace('/manifests/', '/blobs/'));
    const { stdout } = await run('stat', ['-c', '%i %h', link, blob]);
    const [a, b] = stdout.trim().split('\n');
    expect(a).toBe(b); // same inode
    expect(a?.split(' ')[1]).toBe('2');
    const { stdout: target } = await run('readlink', [join(out, pristine.paths.releaseTag)]);
    expect(target.trim()).toBe(pristine.releaseDigest);
  });

  test('rejects a signature from a key not in the keyrings', async () => {
    const other = await makeSigningKey();
    const report = await verifyBundle(pristine.dir, { keyrings: [other.keyring] });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toEqual(['E_SIGNATURE_UNTRUSTED', 'E_SIGNATURE_UNTRUSTED']);
    expect(report.problems.map((p) => p.entry)).toEqual([pristine.paths.signature, pristine.paths.configMap]);
  });
});

describe('each damage is reported exactly', () => {
  for (const [name, damage] of Object.entries(DAMAGES)) {
    if (name.startsWith('forged')) continue;
    test(name, async () => {
      const b = await copy();
      const expected = await damage(b);
      const started = Date.now();
      const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(report.ok).toBe(false);
      expect(report.problems.map(summary)).toEqual(expected.map(summary));
    });
  }

  test('forged bundle.json (release digest changed, not re-sealed)', async () => {
    const b = await copy();
    const [expected] = await DAMAGES['forged bundle.json (release digest changed, not re-sealed)']!(b);
    const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
    expect(report.ok).toBe(false);
    expect(summary(report.problems[0]!)).toEqual(expected);
    // Everything else it reports is a consequence of the forged digest.
    for (const p of report.problems.slice(1)) expect(p.message).toContain('f'.repeat(64));
  });

  test('a decompression bomb is stopped early without big memory', async () => {
    const b = await copy();
    await DAMAGES['volume decompressing beyond its size (512 MiB of zeros after the tar)']!(b);
    await DAMAGES['decompression bomb: entry of 1 GiB zeros declared small']!(b);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(report.problems.map((p) => p.code).sort()).toEqual(['E_BUNDLE_HOSTILE', 'E_SIZE_MISMATCH']);
  });
});

describe('malformed bundle.json', () => {
  for (const [name, make] of Object.entries(MALFORMED_INDEXES)) {
    test(name, async () => {
      const b = await copy();
      await reseal(b.dir, make(structuredClone(b.index)));
      const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
      expect(report.ok).toBe(false);
      expect(report.problems.map(summary)).toEqual([{ code: 'E_BUNDLE_INVALID', file: INDEX_FILE }]);
    });
  }
});

test('verify reports several problems at once', async () => {
  const b = await copy();
  const a = await DAMAGES['flipped byte in a blob']!(b);
  const c = await DAMAGES['tag pointing at a missing manifest']!(b);
  const d = await DAMAGES['extra file in the directory']!(b);
  const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
  const got = report.problems.map(summary);
  for (const p of [...a, ...c, ...d]) expect(got).toContainEqual(summary(p));
});

test('--volume checks only the named volumes', async () => {
  const b = await copy();
  const [damage] = await DAMAGES['flipped byte in a blob']!(b);
  const target = damage!.volume!;
  const other = b.index.volumes.map((v) => v.name).find((n) => n !== target)!;
  const clean = await verifyBundle(b.dir, { keyrings: [key.keyring], volumes: [other] });
  expect(clean.problems).toEqual([]);
  expect(clean.checked.volumes).toBe(1);
  const bad = await verifyBundle(b.dir, { keyrings: [key.keyring], volumes: [target] });
  expect(bad.problems.map(summary)).toEqual([summary(damage!)]);
});

test('a SHA256SUMS that does not match a volume is reported', async () => {
  const b = await copy();
  const vol = b.index.volumes[0]!.name;
  const data = await readFile(join(b.dir, vol));
  data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 1;
  await writeFile(join(b.dir, vol), data);
  const report = await verifyBundle(b.dir, { keyrings: [key.keyring] });
  expect(report.ok).toBe(false);
  expect(report.problems.some((p) => p.code === 'E_BUNDLE_CORRUPT' && p.volume === vol)).toBe(true);
});
