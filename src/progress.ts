/**
 * How workflows report what they are doing. The CLI renders it (progress bars on a
 * terminal, plain lines in a pipe, nothing with --quiet); libraries only call it.
 */
export interface Progress {
  /** A new phase starts ("download", "write volumes", "verify", "push"). Totals if known. */
  phase(name: string, totals?: { bytes?: number; items?: number }): void;
  /** Work done within the current phase. */
  advance(bytes: number, items?: number): void;
  /** A line for the human log (stderr). */
  info(message: string): void;
  /** Something the user should know that does not stop the run. */
  warn(message: string): void;
}

export const silentProgress: Progress = {
  phase() {},
  advance() {},
  info() {},
  warn() {},
};
