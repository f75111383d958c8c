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
  /** Colour allowed on stderr: a terminal, NO_COLOR unset or empty (https://no-color.org), TERM not dumb. */
  color: boolean;
  /** Terminal width for help text (undefined in a pipe). */
  columns?: number;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export function processContext(signal: AbortSignal): CliContext {
  // CI runners often give a pseudo-terminal, but their logs cannot redraw in place.
  const isTTY = Boolean(process.stderr.isTTY) && process.env.CI === undefined && process.env.TERM !== 'dumb';
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
    isTTY,
    color: isTTY && !process.env.NO_COLOR,
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
    signal,
  };
}
