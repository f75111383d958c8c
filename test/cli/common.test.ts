/**
 * The option groups and helpers every command shares (src/cli/common.ts), through a real
 * yargs parse: each group's flags, aliases, defaults and what it gives the workflow.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import {
  bundleTrustOptions,
  imageSetArgs,
  imageSetOptions,
  keyringOption,
  lockOwner,
  registryArgs,
  registryOptions,
  renderer,
  stopRenderers,
  stringList,
  withExampleLayout,
  withExamples,
  writeJson,
} from '../../src/cli/common.js';
import type { CliContext } from '../../src/cli/context.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function context(): { ctx: CliContext; out: () => string; err: () => string } {
  const o = sink();
  const e = sink();
  const ctx: CliContext = {
    stdout: o.stream,
    stderr: e.stream,
    env: {},
    cwd: '/',
    homeDir: '/nonexistent',
    isTTY: false,
    color: false,
    signal: new AbortController().signal,
  };
  return { ctx, out: o.text, err: e.text };
}

const parse = (options: Record<string, object>, argv: string[]): Record<string, unknown> =>
  yargs(argv).options(options).strict().exitProcess(false).parseSync() as Record<string, unknown>;

describe('registryOptions / registryArgs', () => {
  it('source side: --authfile is --registry-config, --src-tls-verify, --ca-file, --concurrency (default 8)', () => {
    const { ctx } = context();
    const a = parse(registryOptions('src'), [
      '--authfile',
      'auth.json',
      '--src-tls-verify=false',
      '--ca-file',
      'ca.pem',
    ]);
    expect(a['src-tls-verify']).toBe(false);
    expect(registryArgs(a, ctx)).toMatchObject({
      registryConfig: 'auth.json',
      caFile: 'ca.pem',
      concurrency: 8,
      signal: ctx.signal,
    });
    expect(registryArgs(parse(registryOptions('src'), ['--concurrency', '3']), ctx).concurrency).toBe(3);
  });

  it('destination side names its TLS flag --dest-tls-verify (true unless turned off)', () => {
    expect(parse(registryOptions('dest'), [])['dest-tls-verify']).toBe(true);
    expect(parse(registryOptions('dest'), ['--no-dest-tls-verify'])['dest-tls-verify']).toBe(false);
    expect(() => parse(registryOptions('dest'), ['--src-tls-verify'])).toThrow(/src-tls-verify/);
  });
});

describe('imageSetOptions / imageSetArgs', () => {
  it('repeatable --image, --no-images, --config, --graph-data', () => {
    const a = parse(imageSetOptions, [
      '--release',
      'r:1',
      '--image',
      'a',
      '--image',
      'b',
      '--graph-data',
      'g',
      '--no-images',
    ]);
    expect(imageSetArgs(a)).toEqual({
      release: 'r:1',
      config: undefined,
      graphData: 'g',
      images: ['a', 'b'],
      noImages: true,
    });
    expect(imageSetArgs(parse(imageSetOptions, ['--config', 'isc.yaml']))).toEqual({
      release: undefined,
      config: 'isc.yaml',
      graphData: undefined,
      images: [],
      noImages: false,
    });
  });
});

describe('trust options', () => {
  it('--keyring is repeatable and its help names the default key', () => {
    const k = keyringOption('to verify signatures');
    expect(String(k.keyring?.description)).toContain('Default: Red Hat release key 2');
    expect(parse(k, ['--keyring', 'a.asc', '--keyring', 'b.asc']).keyring).toEqual(['a.asc', 'b.asc']);
  });

  it("bundleTrustOptions: --keyring, --index-keyring and --allow-unsigned with the caller's words", () => {
    const g = bundleTrustOptions('take unsigned content');
    expect(Object.keys(g)).toEqual(['keyring', 'index-keyring', 'allow-unsigned']);
    expect(g['allow-unsigned']?.description).toBe('take unsigned content');
    const a = parse(g, ['--index-keyring', 'i.asc', '--allow-unsigned']);
    expect(a['index-keyring']).toEqual(['i.asc']);
    expect(a['allow-unsigned']).toBe(true);
  });
});

describe('helpers', () => {
  it('stringList: nothing, one value, several', () => {
    expect(stringList(undefined)).toEqual([]);
    expect(stringList('a')).toEqual(['a']);
    expect(stringList(['a', 2])).toEqual(['a', '2']);
  });

  it('writeJson: one indented document and a newline on stdout', () => {
    const { ctx, out } = context();
    writeJson(ctx, { ok: true, n: [1] });
    expect(out()).toBe('{\n  "ok": true,\n  "n": [\n    1\n  ]\n}\n');
  });

  it('lockOwner: this process is alive, an exited one is not', async () => {
    const owner = lockOwner();
    expect(owner.pid).toBe(process.pid);
    expect(owner.isAlive(process.pid)).toBe(true);
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid ?? 0;
    await new Promise((r) => child.on('exit', r));
    expect(owner.isAlive(pid)).toBe(false);
  });

  it('renderer: quiet with --quiet, and with --json in a pipe; stopRenderers stops them all', () => {
    const { ctx, err } = context();
    renderer({ quiet: true }, ctx).warn('quiet warning');
    renderer({ json: true }, ctx).phase('pack', { bytes: 10 });
    const loud = renderer({}, ctx);
    loud.phase('verify', { bytes: 10 });
    stopRenderers();
    expect(err()).toContain('verify');
    expect(err()).not.toContain('pack');
    expect(err()).toContain('quiet warning'); // warnings are never hidden
  });

  it('withExampleLayout: each example is "# what" above the command, on lines of their own', async () => {
    let help = '';
    await yargs([])
      .command('x', 'a command', (y) =>
        withExampleLayout(y, (z) => withExamples(z, [['x --long-flag value', 'does x']])),
      )
      .exitProcess(false)
      .parseAsync(['x', '--help'], {}, (_e, _a, output) => {
        help = output;
      });
    expect(help).toMatch(/# does x\n\s*\S+ x --long-flag value\n?/);
    expect(help).not.toMatch(/x --long-flag value\s+does x/);
  });
});
