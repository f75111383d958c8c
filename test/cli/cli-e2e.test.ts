/* eslint-disable no-control-regex -- these tests look for terminal escape codes */
/**
 * bin/bale as a user meets it, against a real htpasswd registry holding the fixture
 * release: terminal vs pipe progress, --json for every command (success and failure),
 * the human summaries, and the error messages of the common mistakes.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BALE_BIN, runBale, type BaleRun } from '../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort } from '../helpers/tmp.js';

const ESC = '\x1b';
const SMALL = { components: 2, incompressibleBytes: 256 * 1024 };

function json(r: BaleRun): Record<string, unknown> {
  // The whole of stdout is one JSON document.
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function errorOf(r: BaleRun): { code: string; message: string; hint?: string } {
  const doc = json(r);
  expect(doc.ok).toBe(false);
  return doc.error as { code: string; message: string; hint?: string };
}

/** No stack trace, and the error in one or two lines (plus progress/warning lines). */
function expectShortError(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => l.startsWith('bale: error: '));
  expect(start).toBeGreaterThanOrEqual(0);
  expect(lines.slice(start).filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(2);
}

/** Runs bin/bale on a pseudo-terminal (util-linux `script`), CI unset; returns what the terminal showed. */
function runOnTty(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, BALE_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', quoted, '/dev/null'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: '/nonexistent-bale-home',
        TERM: 'xterm',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('bale CLI end to end (htpasswd registry, fixture release)', () => {
  let s: FixtureSetup;
  let bundle: string;
  let mirror: TestRegistry;

  beforeAll(async () => {
    s = await setupFixture({ auth: 'htpasswd', seed: 11, ...SMALL });
    mirror = await startRegistry({ auth: 'none' });
    bundle = join(s.work, 'bundle');
    const r = await runBale([...s.packArgs(), '--to', bundle, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = json(r);
    expect(doc.ok).toBe(true);
    expect((doc.release as { digest: string }).digest).toBe(s.fx.release.digest);
  });
  afterAll(async () => {
    await mirror?.stop();
    await s?.stop();
  });

  describe('progress', () => {
    it('in a pipe: a few plain lines on stderr, no escape codes; the summary on stdout', async () => {
      const to = join(s.work, 'pipe');
      const r = await runBale([...s.packArgs(), '--to', to]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain(ESC);
      expect(r.stdout).not.toContain(ESC);
      expect(r.stderr).not.toContain('\r');
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.length).toBeLessThan(20);
      expect(r.stdout).toMatch(/^Packed OpenShift 4\.18\.7 \(x86_64\) sha256:/);
      expect(r.stdout).toMatch(/volume\(s\)/);
      expect(r.stdout).toMatch(/Next: check the media with 'bale verify /);
    });

    it('on a terminal: cli-progress bars redrawn in place (cursor movement), colour unless NO_COLOR', async () => {
      const to = join(s.work, 'tty');
      const r = await runOnTty([...s.packArgs(), '--to', to], { COLUMNS: '100' });
      expect(r.code).toBe(0);
      expect(r.output).toContain(`${ESC}[?25l`); // cursor hidden while drawing
      expect(r.output).toMatch(/\x1b\[\d+A/); // cursor up: redraw in place
      expect(r.output).toMatch(/\x1b\[0K/); // clear to end of line
      expect(r.output).toMatch(/pack\s+\[[█░\x1b[0-9;m]+\]\s+\d+% [\d.]+ (B|KiB|MiB)\/[\d.]+ (B|KiB|MiB)/);
      expect(r.output).toContain(`${ESC}[32m`); // coloured bar
      expect(r.output).toContain('Packed OpenShift 4.18.7');

      const plain = await runOnTty([...s.packArgs(), '--to', join(s.work, 'tty-nocolor')], { NO_COLOR: '1' });
      expect(plain.code).toBe(0);
      expect(plain.output).toMatch(/\x1b\[\d+A/);
      expect(plain.output).not.toMatch(/\x1b\[[0-9;]*m/); // no colour codes at all
    });

    it('on a terminal under CI: plain lines, no escape codes', async () => {
      const r = await runOnTty([...s.packArgs(), '--to', join(s.work, 'tty-ci')], { CI: 'true' });
      expect(r.code).toBe(0);
      expect(r.output).not.toContain(ESC);
    });

    it('--quiet: no progress at all, only the summary', async () => {
      const r = await runBale([...s.packArgs(), '--to', join(s.work, 'quiet'), '--quiet']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Packed OpenShift/);
    });
  });

  describe('--json on every command: one document on stdout', () => {
    it('verify', async () => {
      const r = await runBale(['verify', bundle, '--keyring', s.fx.keyringPath, '--json']);
      expect(r.code).toBe(0);
      const doc = json(r);
      expect(doc.ok).toBe(true);
      expect(doc.problems).toEqual([]);
      expect((doc.checked as { signatures: number }).signatures).toBeGreaterThanOrEqual(3);
    });

    it('inspect (and --output json/yaml/csv/table, --deep)', async () => {
      const r = await runBale(['inspect', bundle, '--json']);
      expect(r.code).toBe(0);
      const doc = json(r) as { ok: boolean; release: { digest: string }; images: { name: string }[] };
      expect(doc.ok).toBe(true);
      expect(doc.release.digest).toBe(s.fx.release.digest);
      expect(doc.images.map((i) => i.name)).toEqual(expect.arrayContaining(['release', 'graph-data']));
      const o = await runBale(['inspect', bundle, '-o', 'json']);
      expect(JSON.parse(o.stdout)).toEqual(doc);

      const y = await runBale(['inspect', bundle, '--output', 'yaml']);
      expect(y.code).toBe(0);
      expect((YAML.parse(y.stdout) as { release: { digest: string } }).release.digest).toBe(
        s.fx.release.digest,
      );

      const c = await runBale(['inspect', bundle, '--output', 'csv']);
      const rows = c.stdout.trim().split('\n');
      expect(rows[0]).toBe('name,repository,source,digest,mediaType,size,tags');
      expect(rows).toHaveLength(doc.images.length + 1);

      const t = await runBale(['inspect', bundle]);
      expect(t.stdout).toContain('IMAGES');
      expect(t.stdout).toContain(s.fx.release.digest);
      expect(t.stdout).toContain('not checked');

      const deep = await runBale(['inspect', bundle, '--deep', '--keyring', s.fx.keyringPath, '--json']);
      expect(deep.code).toBe(0);
      const d = json(deep) as { verification: { ok: boolean }; signatures: { verified?: boolean }[] };
      expect(d.verification.ok).toBe(true);
      expect(d.signatures.every((x) => x.verified === true)).toBe(true);

      const wrong = await runBale(['inspect', bundle, '--deep', '--json']); // default Red Hat key
      expect(wrong.code).toBe(1);
      expect((json(wrong) as { verification: { ok: boolean } }).verification.ok).toBe(false);
    });

    it('verify-signature', async () => {
      const hex = s.fx.release.digest.slice(7);
      const file = join(s.fx.storeDir, `sha256=${hex}`, 'signature-1');
      const r = await runBale([
        'verify-signature',
        '--keyring',
        s.fx.keyringPath,
        '--digest',
        s.fx.release.digest,
        file,
        '--json',
      ]);
      expect(r.code).toBe(0);
      const doc = json(r) as { ok: boolean; results: { ok: boolean; keyId: string }[] };
      expect(doc.ok).toBe(true);
      expect(doc.results[0]?.keyId).toBe(s.fx.keys[0]?.keyId);

      const human = await runBale(['verify-signature', '--keyring', s.fx.keyringPath, file]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^VERIFIED: /);

      const bad = await runBale(['verify-signature', '--digest', 'sha256:nothex', file, '--json']);
      expect(bad.code).toBe(2);
      expect(errorOf(bad).code).toBe('E_USAGE');
    });

    it('unpack (dry run, then for real into a second registry)', async () => {
      const manifests = join(s.work, 'manifests');
      const dry = await runBale([
        'unpack',
        bundle,
        '--to',
        `${mirror.host}/ocp4`,
        '--keyring',
        s.fx.keyringPath,
        '--manifests-to-dir',
        manifests,
        '--dry-run',
        '--json',
      ]);
      expect(dry.code).toBe(0);
      expect(json(dry).dryRun).toBe(true);

      const r = await runBale([
        'unpack',
        bundle,
        '--to',
        `${mirror.host}/ocp4`,
        '--keyring',
        s.fx.keyringPath,
        '--manifests-to-dir',
        manifests,
        '--json',
      ]);
      expect(r.code).toBe(0);
      const doc = json(r) as { ok: boolean; release: { digest: string }; nextSteps: string[] };
      expect(doc.ok).toBe(true);
      expect(doc.release.digest).toBe(s.fx.release.digest);

      const human = await runBale([
        'unpack',
        bundle,
        '--to',
        `${mirror.host}/ocp4`,
        '--keyring',
        s.fx.keyringPath,
        '--manifests-to-dir',
        manifests,
      ]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^Unpacked OpenShift 4\.18\.7/);
      expect(human.stdout).toContain('Next steps:');
    });
  });

  describe('the common mistakes', () => {
    it('bad reference: says what is wrong with it, exit 1 or 2, JSON with --json', async () => {
      const r = await runBale(['pack', '--release', 'UPPER/Case:bad tag', '--to', join(s.work, 'badref')]);
      expect([1, 2]).toContain(r.code);
      expect(r.stderr).toContain('UPPER/Case:bad tag');
      expect(r.stderr).toMatch(/E_REFERENCE|E_USAGE/);
      expectShortError(r.stderr);
      const j = await runBale([
        'pack',
        '--release',
        'UPPER/Case:bad tag',
        '--to',
        join(s.work, 'badref2'),
        '--json',
      ]);
      expect(['E_REFERENCE', 'E_USAGE']).toContain(errorOf(j).code);
    });

    it('missing bundle directory: exit 2 for verify, inspect and unpack', async () => {
      const missing = join(s.work, 'no-such-bundle');
      for (const cmd of [['verify'], ['inspect'], ['unpack', '--to-dir', join(s.work, 'x')]]) {
        const r = await runBale([cmd[0] ?? '', missing, ...cmd.slice(1)]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`${missing} is not a bundle directory`);
        expectShortError(r.stderr);
        const j = await runBale([cmd[0] ?? '', missing, ...cmd.slice(1), '--json']);
        expect(j.code).toBe(2);
        expect(errorOf(j)).toMatchObject({ code: 'E_USAGE', hint: expect.stringContaining('bundle.json') });
      }
    });

    it('verify with a keyring that does not match: exit 1, every problem listed, with advice', async () => {
      const other = join(process.cwd(), 'keys', 'redhat-release-key-2.asc');
      const r = await runBale(['verify', bundle, '--keyring', other]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAILED: .*: \d+ problem\(s\)/);
      const problems = r.stdout.split('\n').filter((l) => l.includes('[E_SIGNATURE_UNTRUSTED]'));
      expect(problems.length).toBeGreaterThanOrEqual(3);
      expect(problems[0]).toMatch(/not in the keyrings/);
      expect(r.stdout).toContain('--keyring');
      const j = await runBale(['verify', bundle, '--keyring', other, '--json']);
      expect(j.code).toBe(1);
      const doc = json(j) as { ok: boolean; problems: { code: string }[] };
      expect(doc.ok).toBe(false);
      expect(doc.problems.every((p) => p.code === 'E_SIGNATURE_UNTRUSTED')).toBe(true);
    });

    it('pack with a keyring that does not match: E_SIGNATURE_NONE', async () => {
      const args = s.packArgs();
      const k = args.indexOf('--keyring');
      args[k + 1] = join(process.cwd(), 'keys', 'redhat-release-key-2.asc');
      const r = await runBale([...args, '--to', join(s.work, 'wrongkey'), '--json']);
      expect(r.code).toBe(1);
      expect(errorOf(r).code).toBe('E_SIGNATURE_NONE');
      const h = await runBale([...args, '--to', join(s.work, 'wrongkey2')]);
      expect(h.code).toBe(1);
      expect(h.stderr).toContain('[E_SIGNATURE_NONE]');
      expectShortError(h.stderr);
    });

    it('unreachable registry (a closed port): a network error naming the host', async () => {
      const port = await freePort();
      const r = await runBale(
        [
          'pack',
          '--release',
          `127.0.0.1:${port}/ocp/release:4.18.7-x86_64`,
          '--to',
          join(s.work, 'closed'),
          '--json',
        ],
        {
          timeoutMs: 90_000,
        },
      );
      expect(r.code).toBe(1);
      const e = errorOf(r);
      expect(['E_NETWORK', 'E_RETRIES_EXHAUSTED']).toContain(e.code);
      expect(e.message).toContain(`127.0.0.1:${port}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }, 120_000);

    it('bad credentials: E_AUTH, and the password never appears', async () => {
      const password = 'wrong-Passw0rd-do-not-print';
      const authFile = join(s.work, 'bad-auth.json');
      const auth = Buffer.from(`${s.reg.username ?? ''}:${password}`).toString('base64');
      await writeFile(authFile, JSON.stringify({ auths: { [s.reg.host]: { auth } } }));
      const args = s.packArgs();
      args[args.indexOf('--registry-config') + 1] = authFile;
      for (const extra of [[], ['--json'], ['--debug']]) {
        const r = await runBale([...args, '--to', join(s.work, `badauth${extra.join('')}`), ...extra]);
        expect(r.code).toBe(1);
        expect(r.stdout + r.stderr).toContain('E_AUTH');
        expect(r.stdout + r.stderr).not.toContain(password);
        expect(r.stdout + r.stderr).not.toContain(auth);
        if (extra[0] === '--json') expect(errorOf(r).code).toBe('E_AUTH');
        if (extra.length === 0) expectShortError(r.stderr);
      }
    });

    it('unknown option: exit 2 naming it, JSON with --json', async () => {
      const r = await runBale(['verify', bundle, '--bogus-flag']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('Unknown argument: bogus-flag');
      expectShortError(r.stderr);
      const j = await runBale(['inspect', bundle, '--bogus-flag', '--json']);
      expect(j.code).toBe(2);
      expect(errorOf(j).code).toBe('E_USAGE');
    });
  });
});
