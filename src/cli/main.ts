import yargs from 'yargs';
import type { Argv } from 'yargs';
import { BaleError } from '../errors.js';
import { BALE_VERSION } from '../version.js';
import { processContext, type CliContext } from './context.js';
import { EXIT, UsageError, errorJson, exitCodeFor, formatError } from './errors.js';
import { commands } from './commands/index.js';
import { stopRenderers, withExampleLayout } from './common.js';

const GLOBAL_OPTIONS = ['json', 'quiet', 'debug', 'help', 'version'];

/** How long an interrupted command may take to stop on its own before bale exits anyway. */
const INTERRUPT_GRACE_MS = 1500;

function signalExit(sig: NodeJS.Signals): number {
  return sig === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
}

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
    // Everything bale leaves on disk is safe to stop at any moment (the same as kill -9),
    // so do not wait long for transfers in flight to wind down.
    setTimeout(() => {
      process.stderr.write(
        `bale: error: interrupted by ${sig} [E_INTERRUPTED]\n  Everything finished so far is kept; run the same command again to continue.\n`,
      );
      process.exit(signalExit(sig));
    }, INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // A command whose promise never settles would let node exit 0 once nothing is left to
  // do (a deadlock looks like success). Make that a loud failure instead.
  let settled = false;
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write(
      'bale: error: internal error: bale stopped before the command finished [E_INTERNAL]\n' +
        '  Nothing unfinished looks finished; run the same command again, and please report this with --debug output.\n',
    );
    process.exitCode = EXIT.failure;
  });

  const ctx = processContext(controller.signal);
  run(argv, ctx)
    .then((code) => {
      if (signalled) {
        // Sockets of aborted transfers may still be closing: do not wait for them.
        process.exit(signalExit(signalled));
      }
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      process.stderr.write(formatError(err, true));
      process.exitCode = EXIT.failure;
    })
    .finally(() => {
      settled = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}

/** Parses and runs; resolves to the exit code. Never throws for user errors. */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const json = wantsJson(argv);
  const debug = argv.includes('--debug');
  let exitCode: number = EXIT.ok;

  const parser: Argv = yargs(argv)
    .scriptName('bale')
    .usage(
      'bale: carry OpenShift release content across an air gap.\n\n' +
        'Connected side: bale pack. Audit: bale verify, bale inspect. Disconnected side: bale unpack.\n' +
        'Run bale <command> --help for its options and examples.',
    )
    // `--keyring a.asc <bundle-dir>` must not swallow the positional: repeat the flag for more.
    .parserConfiguration({ 'greedy-arrays': false, 'camel-case-expansion': false })
    .option('json', {
      type: 'boolean',
      default: false,
      description:
        'Print one JSON document on stdout and nothing else there (errors too: {ok:false,error:{code,message,hint}})',
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      description: 'No progress, only the summary, warnings and errors',
    })
    .option('debug', { type: 'boolean', default: false, description: 'Show stack traces with errors' })
    .version(BALE_VERSION)
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'Name a command: pack, verify, inspect, unpack, verify-signature, snapshot or plan.')
    .recommendCommands()
    .completion('completion', 'Print a bash/zsh completion script: bale completion >> ~/.bashrc')
    .epilogue(
      'Exit codes:\n' +
        '  0    success\n' +
        '  1    failure, or problems found (verify, inspect --deep, a signature that does not verify)\n' +
        '  2    usage error (unknown option, missing argument, not a bundle directory)\n' +
        '  130  interrupted by Ctrl-C (143 on SIGTERM); an interrupted pack or unpack resumes when run again\n' +
        'Environment: REGISTRY_AUTH_FILE (credentials), KUBECONFIG, NO_COLOR, CI (plain progress lines).\n' +
        'Documentation: the README in the bale repository.',
    )
    .wrap(Math.min(120, ctx.columns ?? (Number(ctx.env.COLUMNS) || 100)))
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err) throw err;
      throw new UsageError(msg ?? 'invalid command line');
    });

  for (const command of commands) {
    parser.command({
      command: command.command,
      describe: command.describe,
      // The command's own options first, then the global ones.
      builder: (y: Argv) =>
        withExampleLayout(y.group([], 'Positionals:').group([], 'Options:'), (b) => command.builder(b)).group(
          GLOBAL_OPTIONS,
          'Global options:',
        ),
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
    stopRenderers();
    if (helpText) ctx.stdout.write(helpText.endsWith('\n') ? helpText : `${helpText}\n`);
    return exitCode;
  } catch (err) {
    stopRenderers();
    if (json) ctx.stdout.write(`${JSON.stringify(errorJson(err), null, 2)}\n`);
    ctx.stderr.write(formatError(err, debug, ctx.color));
    return exitCodeFor(err);
  }
}

/** --json, or inspect's --output json / -o json: errors must then be JSON too. */
export function wantsJson(argv: string[]): boolean {
  return argv.some((a, i) => {
    if (a === '--json' || a === '--json=true') return true;
    if (a === '--output=json' || a === '-o=json' || a === '-ojson') return true;
    return (a === '--output' || a === '-o') && argv[i + 1] === 'json';
  });
}
