import yargs from 'yargs';
import type { Argv } from 'yargs';
import { BaleError } from '../errors.js';
import { BALE_VERSION } from '../version.js';
import { processContext, type CliContext } from './context.js';
import { EXIT, UsageError, errorJson, exitCodeFor, formatError } from './errors.js';
import { commands } from './commands/index.js';

/** Entry point called by bin/bale: parses argv, runs one command, sets the exit code. */
export function main(argv: string[]): void {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      // Second signal: stop now.
      process.exit(sig === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint);
    }
    signalled = sig;
    process.stderr.write(`\nbale: ${sig} received, stopping (press Ctrl-C again to force)...\n`);
    controller.abort(new BaleError('E_INTERRUPTED', `interrupted by ${sig}`, { details: { signal: sig } }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx = processContext(controller.signal);
  run(argv, ctx)
    .then((code) => {
      process.exitCode = signalled ? (signalled === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint) : code;
    })
    .catch((err: unknown) => {
      process.stderr.write(formatError(err, true));
      process.exitCode = EXIT.failure;
    })
    .finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}

/** Parses and runs; resolves to the exit code. Never throws for user errors. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes('--json') || argv.some((a) => a === '--output=json');
  const debug = argv.includes('--debug');
  let exitCode: number = EXIT.ok;

  const parser: Argv = yargs(argv)
    .scriptName('bale')
    .usage(
      'bale: carry OpenShift release content across an air gap.\n\n' +
        'Connected side: bale pack. Audit: bale verify, bale inspect. Disconnected side: bale unpack.',
    )
    .option('json', { type: 'boolean', description: 'Print one JSON document on stdout, nothing else there' })
    .option('quiet', { alias: 'q', type: 'boolean', description: 'No progress, only warnings and errors' })
    .option('debug', { type: 'boolean', description: 'Show stack traces with errors' })
    .version(BALE_VERSION)
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'Name a command: pack, verify, inspect, unpack or verify-signature.')
    .recommendCommands()
    .completion('completion', 'Print a shell completion script (bash/zsh): bale completion >> ~/.bashrc')
    .epilogue(
      'Exit codes: 0 success, 1 failure or problems found, 2 usage error, 130 interrupted (143 on SIGTERM).\n' +
        'Documentation: the README in the bale repository.',
    )
    .wrap(Math.min(110, Number(ctx.env.COLUMNS) || 100))
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err) throw err;
      throw new UsageError(msg ?? 'invalid command line');
    });

  for (const command of commands) {
    parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y: Argv) => command.builder(y),
      handler: async (args: Record<string, unknown>) => {
        exitCode = await command.handler(args, ctx);
      },
    });
  }

  try {
    let helpText = '';
    await parser.parseAsync(argv, {}, (err, _argv, output) => {
      if (err) return;
      helpText = output;
    });
    if (helpText) ctx.stdout.write(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return exitCode;
  } catch (err) {
    if (json) ctx.stdout.write(`${JSON.stringify(errorJson(err), null, 2)}\n`);
    ctx.stderr.write(formatError(err, debug));
    return exitCodeFor(err);
  }
}
