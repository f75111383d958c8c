import { homedir } from 'node:os';
import type { Writable } from 'node:stream';

/** Everything a command needs from the process, injected so commands stay testable. */
export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  cwd: string;
  homeDir: string;
  /** stderr is a terminal: progress bars may redraw in place. */
  isTTY: boolean;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export function processContext(signal: AbortSignal): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
    isTTY: Boolean(process.stderr.isTTY) && process.env.CI === undefined && process.env.TERM !== 'dumb',
    signal,
  };
}
