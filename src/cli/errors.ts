import { BaleError, messageOf } from '../errors.js';
import { safeText } from './safe-text.js';

/** A command-line usage mistake: exit code 2. */
export class UsageError extends BaleError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, { hint: hint ?? 'See the --help of the command.' });
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2, sigint: 130, sigterm: 143 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof BaleError) {
    if (err.code === 'E_USAGE') return EXIT.usage;
    if (err.code === 'E_INTERRUPTED') return err.details.signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
  }
  return EXIT.failure;
}

/** One or two lines: what went wrong (and where), then what to do. Stack only with --debug. */
export function formatError(err: unknown, debug: boolean, color = false): string {
  const lines: string[] = [];
  const prefix = color ? '\x1b[1;31mbale: error:\x1b[0m' : 'bale: error:';
  if (err instanceof BaleError) {
    lines.push(`${prefix} ${safeText(err.message)} [${err.code}]`);
    if (err.hint) lines.push(`  ${safeText(err.hint)}`);
  } else {
    lines.push(`${prefix} ${safeText(messageOf(err))}`);
    lines.push('  This is unexpected; please report it with the output of the same command and --debug.');
  }
  if (debug && err instanceof Error) {
    lines.push(err.stack ?? '');
    let cause = err.cause;
    while (cause instanceof Error) {
      lines.push(`caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    }
  }
  return lines.join('\n') + '\n';
}

/** The JSON form of an error for --json output. */
export function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof BaleError) return { ok: false, error: err.toJSON() };
  return { ok: false, error: { code: 'E_INTERNAL', message: messageOf(err) } };
}
