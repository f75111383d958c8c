/**
 * What a command gets from the process (src/cli/context.ts): whether stderr may redraw
 * in place and use colour, and the terminal width. Checked in child processes, under a
 * real pseudo-terminal (util-linux `script`) and in a pipe, with the CI, TERM and
 * NO_COLOR conventions.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { processContext } from '../../src/cli/context.js';

const run = promisify(execFile);
const CONTEXT_JS = fileURLToPath(new URL('../../dist/src/cli/context.js', import.meta.url));

const PROBE = `import(${JSON.stringify(CONTEXT_JS)}).then((m) => {
  const c = m.processContext(new AbortController().signal);
  process.stdout.write(JSON.stringify({ isTTY: c.isTTY, color: c.color, columns: c.columns ?? null, cwd: c.cwd, home: c.homeDir }) + '\\n');
});`;

interface Seen {
  isTTY: boolean;
  color: boolean;
  columns: number | null;
  cwd: string;
  home: string;
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home', ...extra };
}

/** The context under a pseudo-terminal 77 columns wide. */
async function inTerminal(env: Record<string, string>): Promise<Seen> {
  const cmd = `stty cols 77 rows 20; ${JSON.stringify(process.execPath)} --input-type=module -e ${shellWord(PROBE)}`;
  const { stdout } = await run('script', ['-qec', cmd, '/dev/null'], { env: baseEnv(env), cwd: '/tmp' });
  const line = stdout.split(/\r?\n/).find((l) => l.startsWith('{'));
  return JSON.parse(line ?? 'null') as Seen;
}

async function inPipe(env: Record<string, string>): Promise<Seen> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: baseEnv(env),
    cwd: '/tmp',
  });
  return JSON.parse(stdout) as Seen;
}

function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe('processContext', () => {
  it('a terminal: redraws in place, colour, its width; cwd and home from the process', async () => {
    expect(await inTerminal({ TERM: 'xterm' })).toEqual({
      isTTY: true,
      color: true,
      columns: 77,
      cwd: '/tmp',
      home: '/nonexistent-home',
    });
  });

  it('NO_COLOR set: no colour, still redraws; NO_COLOR empty: colour', async () => {
    expect(await inTerminal({ TERM: 'xterm', NO_COLOR: '1' })).toMatchObject({ isTTY: true, color: false });
    expect(await inTerminal({ TERM: 'xterm', NO_COLOR: '' })).toMatchObject({ isTTY: true, color: true });
  });

  it('CI or TERM=dumb: plain lines, no colour, even on a terminal', async () => {
    expect(await inTerminal({ TERM: 'xterm', CI: 'true' })).toMatchObject({ isTTY: false, color: false });
    expect(await inTerminal({ TERM: 'dumb' })).toMatchObject({ isTTY: false, color: false });
  });

  it('a pipe: no redraw, no colour, no width', async () => {
    expect(await inPipe({ TERM: 'xterm' })).toMatchObject({ isTTY: false, color: false, columns: null });
  });

  it('carries the signal it is given and the process streams', () => {
    const controller = new AbortController();
    const ctx = processContext(controller.signal);
    expect(ctx.signal).toBe(controller.signal);
    expect(ctx.stdout).toBe(process.stdout);
    expect(ctx.stderr).toBe(process.stderr);
    expect(ctx.env).toBe(process.env);
  });
});
