/**
 * bale unpack refuses what it must refuse, and says why: a damaged bundle is caught by
 * the verification that runs first (nothing reaches the registry), and the common
 * mistakes (no bundle, a bad --to, an unreachable registry, wrong credentials) give one
 * clear error with a hint, never a password. --json always prints exactly one JSON
 * document on stdout.
 */
import { cp, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { freePort } from '../../helpers/tmp.js';
import { oneJson, packFixture, storedFiles, type PackedBundle } from './unpack-helpers.js';

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; hint?: string };
}

describe('bale unpack: refusals and clear errors', () => {
  let b: PackedBundle;
  let dest: TestRegistry;
  let secured: TestRegistry;

  beforeAll(async () => {
    b = await packFixture(41);
    [dest, secured] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd' })]);
  });
  afterAll(async () => {
    await dest?.stop();
    await secured?.stop();
    await b?.setup.stop();
  });

  const args = (bundle: string, to: string, extra: string[] = []): string[] => [
    'unpack',
    bundle,
    '--to',
    to,
    '--dest-tls-verify=false',
    '--keyring',
    b.keyring,
    '--manifests-to-dir',
    join(b.setup.work, 'manifests-refusal'),
    ...extra,
  ];

  // --verify-first: nothing is sent before the audit ends (the default sends blobs while
  // verifying and holds back manifests and tags: test/workflows/unpack/single-pass.test.ts).
  it('a damaged volume (one flipped byte in a copy) is refused before anything is pushed', async () => {
    const copy = join(b.setup.work, 'damaged');
    await cp(b.bundleDir, copy, { recursive: true });
    const volume = b.index.volumes[0]?.name ?? '';
    const path = join(copy, volume);
    const size = (await stat(path)).size;
    const fh = await open(path, 'r+');
    try {
      const at = Math.floor(size / 2);
      const buf = Buffer.alloc(1);
      await fh.read(buf, 0, 1, at);
      buf[0] = (buf[0] ?? 0) ^ 0xff;
      await fh.write(buf, 0, 1, at);
    } finally {
      await fh.close();
    }
    const r = await runBale(args(copy, `${dest.host}/mirror`, ['--verify-first']));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_VERIFY_FAILED');
    expect(r.stderr).toContain(volume);
    expect(r.stderr).toMatch(/Nothing was pushed/);
    // Not one request that changes the registry: its storage is still empty.
    expect(await storedFiles(dest)).toEqual([]);

    const j = await runBale(args(copy, `${dest.host}/mirror`, ['--verify-first', '--json']));
    expect(j.code).toBe(1);
    const doc = oneJson<ErrorJson>(j);
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('E_VERIFY_FAILED');
    expect(doc.error.message).toContain(volume);
    expect(await storedFiles(dest)).toEqual([]);
  });

  it('a missing bundle directory is a usage error (exit 2), one JSON document with --json', async () => {
    const missing = join(b.setup.work, 'no-such-bundle');
    const r = await runBale(args(missing, `${dest.host}/mirror`));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain('E_USAGE');
    expect(r.stdout).toBe('');
    const j = await runBale(args(missing, `${dest.host}/mirror`, ['--json']));
    expect(j.code).toBe(2);
    expect(oneJson<ErrorJson>(j).error.code).toBe('E_USAGE');
  });

  it.each([
    ['a scheme', 'https://mirror.example.com/ocp4'],
    ['a tag', 'mirror.example.com:5000/ocp4:latest'],
    ['a digest', `mirror.example.com/ocp4@sha256:${'a'.repeat(64)}`],
    ['upper case', 'mirror.example.com/OCP4'],
    ['empty', ''],
  ])('a bad --to (%s) is a usage error naming the value', async (_what, to) => {
    const r = await runBale(args(b.bundleDir, to, ['--json']));
    expect(r.code).toBe(2);
    const doc = oneJson<ErrorJson>(r);
    expect(doc.error.code).toBe('E_USAGE');
    expect(doc.error.message).toContain('--to');
    expect(doc.error.hint).toBeTruthy();
  });

  it('an unreachable destination fails with a clear network error, in bounded time', async () => {
    const port = await freePort();
    const started = Date.now();
    const r = await runBale(args(b.bundleDir, `127.0.0.1:${port}/mirror`, ['--json']), { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const doc = oneJson<ErrorJson>(r);
    expect(doc.error.message).toContain(`127.0.0.1:${port}`);
    expect(doc.error.hint).toBeTruthy();
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    // One probe request (with the client's retries), not one per blob.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('wrong destination credentials: an auth error that never shows the password', async () => {
    const wrong = 'Wr0ng-Pa55word-Xyzzy';
    const authFile = join(b.setup.work, 'wrong-auth.json');
    const auth = Buffer.from(`${secured.username}:${wrong}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [secured.host]: { auth } } }));
    for (const extra of [['--json'], ['--debug']]) {
      const r = await runBale(
        args(b.bundleDir, `${secured.host}/mirror`, ['--registry-config', authFile, ...extra]),
      );
      expect(r.code).toBe(1);
      const all = r.stdout + r.stderr;
      expect(all).toMatch(/E_AUTH|credentials|unauthorized|401/i);
      expect(all).toContain(secured.host);
      expect(all).not.toContain(wrong);
      expect(all).not.toContain(auth);
      if (extra[0] === '--json') expect(oneJson<ErrorJson>(r).ok).toBe(false);
    }
    expect(await storedFiles(secured)).toEqual([]);
  });
});
