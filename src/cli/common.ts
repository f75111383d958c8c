import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import type { CliContext } from './context.js';
import { createRenderer, type Renderer } from './progress-renderer.js';

/** Options every command that talks to a registry shares. */
export function registryOptions(y: Argv, side: 'src' | 'dest'): Argv {
  return y
    .option('registry-config', {
      type: 'string',
      description:
        'Credentials file (docker config.json / OpenShift pull secret). Default: $REGISTRY_AUTH_FILE, ' +
        '$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json',
      alias: 'authfile',
    })
    .option(`${side}-tls-verify`, {
      type: 'boolean',
      default: true,
      description: `Verify TLS certificates of the ${side === 'src' ? 'source' : 'destination'} registries; false also permits plain HTTP`,
    })
    .option('ca-file', { type: 'string', description: 'Extra CA certificate(s) (PEM) to trust' })
    .option('concurrency', { type: 'number', default: 8, description: 'Parallel transfers per registry' });
}

const active = new Set<Renderer>();

/**
 * The progress renderer for a command: bars on a terminal, plain lines in a pipe or
 * under CI, only warnings with --quiet (or --json in a pipe). run() stops every
 * renderer when the command ends, however it ends.
 */
export function renderer(args: Record<string, unknown>, ctx: CliContext): Renderer {
  const r = createRenderer({
    stream: ctx.stderr,
    isTTY: ctx.isTTY,
    color: ctx.color,
    quiet: Boolean(args.quiet) || Boolean(args.json && !ctx.isTTY),
  });
  active.add(r);
  return r;
}

/** Stops every renderer made by renderer() (before an error or the exit). */
export function stopRenderers(): void {
  for (const r of active) r.stop();
  active.clear();
}

export function lockOwner(): { pid: number; hostname: string; isAlive(pid: number): boolean } {
  return {
    pid: process.pid,
    hostname: hostname(),
    isAlive(pid: number): boolean {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

export function writeJson(ctx: CliContext, doc: unknown): void {
  ctx.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export function stringList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Adds examples: `[command without "bale ", what it does]`. main.ts lays them out. */
export function withExamples(y: Argv, examples: [command: string, what: string][]): Argv {
  let out = y;
  for (const [command, what] of examples) out = out.example(`$0 ${command}`, what);
  return out;
}

/**
 * Runs a command's builder with `.example(command, what)` printing `# what` over the
 * command on a line of its own, so that long command lines stay readable and can be
 * copied (yargs would squeeze them into a half-width column).
 */
export function withExampleLayout(y: Argv, build: (y: Argv) => Argv): Argv {
  const yargsExample = y.example.bind(y);
  let count = 0;
  const layout = (command: string | [string, string?][], what?: string): Argv => {
    if (Array.isArray(command)) {
      for (const [c, w] of command) layout(c, w);
      return y;
    }
    const text = what ? `# ${what}\n${command}` : command;
    return yargsExample(`${count++ ? '\n' : ''}${text}`, '');
  };
  Object.assign(y, { example: layout });
  try {
    return build(y);
  } finally {
    delete (y as unknown as { example?: unknown }).example;
  }
}

/** `--sigstore-key FILE` (repeatable), shared by pack, verify, inspect and unpack. */
export function sigstoreKeyOption(y: Argv): Argv {
  return y.option('sigstore-key', {
    type: 'array',
    string: true,
    description:
      'PEM public key (ECDSA P-256 or RSA) for Sigstore (cosign) signatures (repeatable). Default: the Red Hat release key shipped with bale',
  });
}
