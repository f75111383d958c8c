import type { Argv } from 'yargs';
import type { CliContext } from '../context.js';

/** One subcommand: yargs builder plus a handler that returns the exit code. */
export interface Command {
  command: string;
  describe: string;
  builder(y: Argv): Argv;
  handler(args: Record<string, unknown>, ctx: CliContext): Promise<number>;
}
