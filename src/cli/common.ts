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

export function renderer(args: Record<string, unknown>, ctx: CliContext): Renderer {
  return createRenderer({
    stream: ctx.stderr,
    isTTY: ctx.isTTY,
    quiet: Boolean(args.quiet) || Boolean(args.json && !ctx.isTTY),
  });
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
