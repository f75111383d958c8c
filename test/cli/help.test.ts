/** bale --help, <command> --help, --version, completion and usage errors (no registry needed). */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALE_BIN, runBale } from '../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const COMMANDS = ['pack', 'verify', 'inspect', 'unpack', 'verify-signature', 'snapshot', 'plan', 'mirror'];

/** Options each command must list in its help, with the defaults shown. */
const OPTIONS: Record<string, string[]> = {
  pack: [
    '--release',
    '--config',
    '--to',
    '--graph-url',
    '--graph-file',
    '--allow-conditional-edges',
    '--arch',
    '--graph-data',
    '--image',
    '--signature-store',
    '--keyring',
    '--volume-size',
    '--sign-key',
    '--compression-level',
    '--verify-after-write',
    '--idms-file',
    '--icsp-file',
    '--registries-conf',
    '--registry-config',
    '--src-tls-verify',
    '--ca-file',
    '--concurrency',
  ],
  verify: ['--keyring', '--index-keyring', '--allow-unsigned', '--volume'],
  inspect: ['--output', '--deep', '--keyring'],
  unpack: [
    '--to',
    '--to-dir',
    '--manifests-to-dir',
    '--keyring',
    '--index-keyring',
    '--allow-unsigned',
    '--apply-release-image-signature',
    '--apply-manifests',
    '--icsp',
    '--overwrite',
    '--dry-run',
    '--kubeconfig',
    '--dest-tls-verify',
  ],
  'verify-signature': ['--digest', '--keyring'],
  snapshot: [
    '--bundle',
    '--repository',
    '--minimal',
    '--output',
    '--verify',
    '--keyring',
    '--registry-config',
    '--dest-tls-verify',
    '--ca-file',
  ],
  plan: [
    '--release',
    '--graph-data',
    '--image',
    '--to',
    '--have',
    '--strict',
    '--src-tls-verify',
    '--dest-tls-verify',
  ],
  mirror: [
    '--release',
    '--graph-data',
    '--image',
    '--to',
    '--confirm',
    '--keyring',
    '--signature-store',
    '--release-image-signature-to-dir',
    '--manifests-to-dir',
    '--apply-release-image-signature',
    '--apply-manifests',
    '--overwrite',
    '--dry-run',
    '--kubeconfig',
    '--src-tls-verify',
    '--dest-tls-verify',
    '--registry-config',
    '--ca-file',
  ],
};

describe('bale --help', () => {
  it('names every command, the global options and the exit codes', async () => {
    const r = await runBale(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const c of COMMANDS) expect(r.stdout).toContain(`bale ${c}`);
    expect(r.stdout).toContain('bale completion');
    for (const o of ['--json', '--quiet', '--debug', '--version', '--help']) expect(r.stdout).toContain(o);
    expect(r.stdout).toMatch(/^\s+0\s+success/m);
    expect(r.stdout).toMatch(/^\s+1\s+failure/m);
    expect(r.stdout).toMatch(/^\s+2\s+usage error/m);
    expect(r.stdout).toMatch(/^\s+130\s+interrupted/m);
  });

  for (const c of COMMANDS) {
    it(`bale ${c} --help: every option, defaults, and two or three real examples`, async () => {
      const r = await runBale([c, '--help']);
      expect(r.code).toBe(0);
      for (const o of OPTIONS[c] ?? []) expect(r.stdout).toContain(o);
      for (const o of ['--json', '--quiet', '--debug']) expect(r.stdout).toContain(o);
      const examples = r.stdout.slice(r.stdout.indexOf('Examples:'));
      const lines = examples.split('\n').filter((l) => l.trim().startsWith(`bale ${c} `));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.length).toBeLessThanOrEqual(4);
      // each example has a "# what it does" line over it
      expect(examples.split('\n').filter((l) => l.trim().startsWith('# ')).length).toBe(lines.length);
    });
  }

  it('shows the defaults', async () => {
    const pack = (await runBale(['pack', '--help'])).stdout;
    expect(pack).toMatch(/--volume-size[\s\S]*\[default: "4095MiB"\]/);
    expect(pack).toMatch(/--concurrency[\s\S]*\[default: 8\]/);
    expect(pack).toMatch(/--src-tls-verify[\s\S]*\[default: true\]/);
    const inspect = (await runBale(['inspect', '--help'])).stdout;
    expect(inspect).toMatch(
      /--output[\s\S]*\[choices: "table", "json", "yaml", "csv"\] \[default: "table"\]/,
    );
    const unpack = (await runBale(['unpack', '--help'])).stdout;
    expect(unpack).toContain('./bale-manifests');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    const r = await runBale(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('bale completion', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('bale-completion-');
    await mkdir(join(dir, 'bin'));
    await symlink(BALE_BIN, join(dir, 'bin', 'bale'));
  });
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('prints a bash completion script', async () => {
    const r = await runBale(['completion']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('###-begin-bale-completions-###');
    expect(r.stdout).toContain('complete -o bashdefault -o default -F _bale_yargs_completions bale');
  });

  it('completes commands and options in bash', async () => {
    const PATH = `${join(dir, 'bin')}:${process.env.PATH ?? ''}`;
    const complete = async (words: string[]) => {
      const script = [
        'source <(bale completion)',
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
        `COMP_CWORD=${words.length - 1}`,
        `COMP_LINE='${words.join(' ')}'`,
        '_bale_yargs_completions',
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      const { stdout } = await execFileP('bash', ['-c', script], { env: { PATH, HOME: dir } });
      return stdout.trim().split('\n').sort();
    };
    expect(await complete(['bale', 'veri'])).toEqual(['verify', 'verify-signature']);
    expect(await complete(['bale', 'inspect', '--de'])).toEqual(['--debug', '--deep']);
  });
});

describe('usage errors', () => {
  it('no command: exit 2 and what to do', async () => {
    const r = await runBale([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Name a command');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('unknown command or option: exit 2, JSON error with --json', async () => {
    const r = await runBale(['verify', '/tmp', '--bogus-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bale: error: Unknown argument: bogus-flag \[E_USAGE\]$/m);
    const j = await runBale(['frobnicate', '--json']);
    expect(j.code).toBe(2);
    const doc = JSON.parse(j.stdout) as {
      ok: boolean;
      error: { code: string; message: string; hint: string };
    };
    expect(doc).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect(typeof doc.error.hint).toBe('string');
  });

  it('missing required options of pack', async () => {
    const r = await runBale(['pack', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { message: string } };
    expect(doc.error.message).toMatch(/\bto\b/);
    // --release is optional with --config; with neither, the usage error names both.
    const none = await runBale(['pack', '--to', '/nonexistent-bale-dir/b', '--json']);
    expect(none.code).toBe(2);
    expect((JSON.parse(none.stdout) as { error: { message: string } }).error.message).toMatch(
      /--release, or --config/,
    );
  });

  it('a stack trace only with --debug', async () => {
    const plain = await runBale(['inspect', '/nonexistent-bale-dir']);
    expect(plain.code).toBe(2);
    expect(plain.stderr.trim().split('\n')).toHaveLength(2);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    const debug = await runBale(['inspect', '/nonexistent-bale-dir', '--debug']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  it('inspect --output json makes errors JSON too', async () => {
    const r = await runBale(['inspect', '/nonexistent-bale-dir', '-o', 'json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
  });

  it('bad --output choice is a usage error', async () => {
    const r = await runBale(['inspect', '/tmp', '--output', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid values');
  });
});

describe('README command reference', () => {
  const doc = readFileSync(join(process.cwd(), 'README.md'), 'utf8');

  it('documents every error code of src/errors.ts', () => {
    const source = readFileSync(join(process.cwd(), 'src', 'errors.ts'), 'utf8');
    const codes = [...source.matchAll(/\|\s*'(E_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(20);
    for (const code of codes) expect(doc).toContain(`| \`${code}\` |`);
  });

  it('documents every option that --help lists (regenerate the help blocks when this fails)', async () => {
    for (const c of COMMANDS) {
      const help = (await runBale([c, '--help'])).stdout;
      const options = new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]));
      for (const o of options) expect(doc, `${c} ${o}`).toContain(o);
    }
  });
});
