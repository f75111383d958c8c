/**
 * The CLI entry: `run(argv, ctx)` in-process with an injected context (what goes to
 * stdout and stderr, the exit code), `wantsJson`, and `main()` through bin/bale for
 * what only a process has (signals). Interrupts during pack and unpack are in
 * test/reliability/interrupt.test.ts.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.js';
import { run, wantsJson } from '../../src/cli/main.js';
import { BALE_VERSION } from '../../src/version.js';
import { spawnBale } from '../helpers/bale.js';
import { startSilentServer, type SilentServer } from '../helpers/silent-server.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

interface Captured {
  ctx: CliContext;
  out(): string;
  err(): string;
}

function context(signal = new AbortController().signal): Captured {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  stdout.on('data', (c: Buffer) => o.push(c));
  stderr.on('data', (c: Buffer) => e.push(c));
  return {
    ctx: {
      stdout,
      stderr,
      env: {},
      cwd: '/',
      homeDir: '/nonexistent',
      isTTY: false,
      color: false,
      columns: 100,
      signal,
    },
    out: () => Buffer.concat(o).toString(),
    err: () => Buffer.concat(e).toString(),
  };
}

let tmp: string;
beforeAll(async () => {
  tmp = await makeTempDir('bale-main-');
});
afterAll(async () => {
  await removeTempDir(tmp);
});

describe('run', () => {
  it('--help: usage, every command and the exit codes on stdout, exit 0', async () => {
    const c = context();
    expect(await run(['--help'], c.ctx)).toBe(0);
    expect(c.out()).toContain('bale: carry OpenShift release content across an air gap.');
    for (const cmd of ['pack', 'verify', 'inspect', 'unpack', 'snapshot', 'plan', 'mirror']) {
      expect(c.out()).toMatch(new RegExp(`^\\s+bale ${cmd}\\b`, 'm'));
    }
    expect(c.out()).toContain('130  interrupted by Ctrl-C');
    expect(c.err()).toBe('');
  });

  it('--version prints the package version', async () => {
    const c = context();
    expect(await run(['--version'], c.ctx)).toBe(0);
    expect(c.out().trim()).toBe(BALE_VERSION);
  });

  it('no command: exit 2, what to do on stderr, nothing on stdout', async () => {
    const c = context();
    expect(await run([], c.ctx)).toBe(2);
    expect(c.err()).toContain('Name a command: pack, verify, inspect, unpack');
    expect(c.out()).toBe('');
  });

  it('an unknown option: exit 2; with --json the error is one JSON document on stdout', async () => {
    const plain = context();
    expect(await run(['verify', tmp, '--bogus-option'], plain.ctx)).toBe(2);
    expect(plain.err()).toMatch(/Unknown argument/i);
    expect(plain.out()).toBe('');
    const json = context();
    expect(await run(['verify', tmp, '--bogus-option', '--json'], json.ctx)).toBe(2);
    const doc = JSON.parse(json.out()) as { ok: boolean; error: { code: string; message: string } };
    expect(doc).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect(doc.error.message).toMatch(/bogus-option/);
  });

  it('a command failure: its exit code and the error with its code on stderr, a stack only with --debug', async () => {
    const c = context();
    const code = await run(['inspect', `${tmp}/not-a-bundle`], c.ctx);
    expect(code).not.toBe(0);
    expect(c.err()).toMatch(/\[E_[A-Z_]+\]/);
    expect(c.err()).not.toMatch(/\n\s+at /);
    const d = context();
    await run(['inspect', `${tmp}/not-a-bundle`, '--debug'], d.ctx);
    expect(d.err()).toMatch(/\n\s+at /);
  });

  it('inspect --output json makes errors JSON too', async () => {
    const c = context();
    await run(['inspect', '--output', 'json', `${tmp}/not-a-bundle`], c.ctx);
    expect(JSON.parse(c.out())).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^E_/) } });
  });
});

describe('wantsJson', () => {
  it.each([
    [['--json'], true],
    [['--json=true'], true],
    [['inspect', '--output', 'json'], true],
    [['inspect', '-o', 'json'], true],
    [['inspect', '--output=json'], true],
    [['inspect', '-o=json'], true],
    [['inspect', '-ojson'], true],
    [['inspect', '--output', 'yaml'], false],
    [['inspect', '-o'], false],
    [['--json=false'], false],
    [['json'], false],
    [[], false],
  ])('%j → %s', (argv, expected) => {
    expect(wantsJson(argv)).toBe(expected);
  });
});

describe('main (bin/bale)', () => {
  let silent: SilentServer;
  let host: string;
  beforeAll(async () => {
    // A registry that accepts connections and never answers: a command waits on it.
    silent = await startSilentServer();
    host = silent.host;
  });
  afterAll(async () => {
    await silent.stop();
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s while waiting on a registry: exit %i within 2 s, saying what happened',
    async (signal, code) => {
      const child = spawnBale(['snapshot', host, '--dest-tls-verify=false'], {
        env: { HOME: tmp },
      });
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      // wait until bale is connected and waiting
      const t0 = Date.now();
      while (silent.sockets.length === 0 && Date.now() - t0 < 10_000)
        await new Promise((r) => setTimeout(r, 20));
      expect(silent.sockets.length).toBeGreaterThan(0);
      const sent = Date.now();
      child.kill(signal);
      const [exitCode] = (await once(child, 'exit')) as [number | null];
      expect(exitCode).toBe(code);
      expect(Date.now() - sent).toBeLessThan(2000);
      expect(stderr).toContain(`${signal} received, stopping`);
      expect(stderr).toMatch(/E_INTERRUPTED/);
      silent.sockets.splice(0).forEach((s) => s.destroy());
    },
  );
});
