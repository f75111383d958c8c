import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** bin/bale of this checkout (tests run the compiled CLI: `npm test` builds first). */
export const BALE_BIN = fileURLToPath(new URL('../../bin/bale', import.meta.url));

export interface BaleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BaleRunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

/** Environment for bale under test: no host credentials or kubeconfig leak in. */
export function testEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.BALE_TEST_HOME ?? '/nonexistent-bale-home',
    CI: 'true',
    NO_COLOR: '1',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Starts bin/bale; the caller may kill it (crash tests). */
export function spawnBale(args: string[], opts: BaleRunOptions = {}): ChildProcess {
  return spawn(process.execPath, [BALE_BIN, ...args], {
    env: testEnv(opts.env),
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs bin/bale to completion and collects its output. */
export function runBale(args: string[], opts: BaleRunOptions = {}): Promise<BaleRun> {
  return new Promise((resolve, reject) => {
    const child = spawnBale(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
