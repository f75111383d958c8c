import { hostname } from 'node:os';
import type { Argv, Options } from 'yargs';
import type { CliContext } from './context.js';
import { createRenderer, type Renderer } from './progress-renderer.js';

/** Options several commands share, added with `y.options(group)`; help lists them in this order. */
export type OptionGroup = Record<string, Options>;

const RELEASE_KEY = 'Red Hat release key 2';

/** Options every command that talks to a registry shares: credentials, TLS, CA, concurrency. */
export function registryOptions(side: 'src' | 'dest'): OptionGroup {
  return {
    'registry-config': {
      type: 'string',
      description:
        'Credentials file (docker config.json / OpenShift pull secret). Default: $REGISTRY_AUTH_FILE, ' +
        '$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json',
      alias: 'authfile',
    },
    [`${side}-tls-verify`]: {
      type: 'boolean',
      default: true,
      description: `Verify TLS certificates of the ${side === 'src' ? 'source' : 'destination'} registries; false also permits plain HTTP`,
    },
    'ca-file': { type: 'string', description: 'Extra CA certificate(s) (PEM) to trust' },
    concurrency: { type: 'number', default: 8, description: 'Parallel transfers per registry' },
  };
}

/** What registryOptions gives a workflow (the TLS flag is named per side by the caller). */
export function registryArgs(
  args: Record<string, unknown>,
  ctx: CliContext,
): {
  registryConfig: string | undefined;
  caFile: string | undefined;
  concurrency: number;
  env: CliContext['env'];
  homeDir: CliContext['homeDir'];
  signal: CliContext['signal'];
} {
  return {
    registryConfig: args['registry-config'] as string | undefined,
    caFile: args['ca-file'] as string | undefined,
    concurrency: args.concurrency as number,
    env: ctx.env,
    homeDir: ctx.homeDir,
    signal: ctx.signal,
  };
}

/** Only the dest-tls-verify flag: plan and mirror take pack's source options and this for the destination. */
export const destTlsVerifyOption: OptionGroup = {
  'dest-tls-verify': {
    type: 'boolean',
    default: true,
    description: 'Verify TLS certificates of the destination registry; false also permits plain HTTP',
  },
};

/** The image-set flags plan and mirror share with pack: --release, --config, --graph-data, --image, --no-images. */
export const imageSetOptions: OptionGroup = {
  release: { type: 'string', description: 'Release image pullspec (tag or digest), as for pack' },
  config: {
    type: 'string',
    description:
      'Image set, as for pack: an oc-mirror ImageSetConfiguration, a promoter manifest, or a thin-manifest directory',
  },
  'graph-data': { type: 'string', description: 'Cincinnati graph-data image, as for pack' },
  image: { type: 'array', string: true, description: 'More images (repeatable), as for pack' },
  images: {
    type: 'boolean',
    default: true,
    description: 'Plan the images; --no-images: only resolve the release',
  },
};

/** What imageSetOptions (or pack's own image-set flags) give a workflow. */
export function imageSetArgs(args: Record<string, unknown>): {
  release: string | undefined;
  config: string | undefined;
  graphData: string | undefined;
  images: string[];
  noImages: boolean;
} {
  return {
    release: args.release as string | undefined,
    config: args.config as string | undefined,
    graphData: args['graph-data'] as string | undefined,
    images: stringList(args.image),
    noImages: args.images === false,
  };
}

/** `--keyring FILE` (repeatable): "OpenPGP keyring <purpose> (repeatable). Default: <key>". */
export function keyringOption(purpose: string, defaultKey = RELEASE_KEY): OptionGroup {
  return {
    keyring: {
      type: 'array',
      string: true,
      description: `OpenPGP keyring ${purpose} (repeatable). Default: ${defaultKey}`,
    },
  };
}

/** Where release signatures come from and what verifies them (pack, mirror). */
export const releaseSignatureOptions: OptionGroup = {
  'signature-store': {
    type: 'array',
    string: true,
    description: 'Signature store URL, http(s):// or file:// (repeatable). Default: the two official stores',
  },
  ...keyringOption('to verify signatures', `${RELEASE_KEY}, shipped with bale`),
};

/**
 * What a bundle's content is trusted by (verify, unpack): the release keyring, the
 * bundle.json keyring, and the explicit decision to take unsigned content.
 */
export function bundleTrustOptions(allowUnsigned: string): OptionGroup {
  return {
    ...keyringOption('for release and graph-data signatures'),
    'index-keyring': {
      type: 'array',
      string: true,
      description:
        'OpenPGP keyring for bundle.json.asc only (repeatable): content no release signature reaches is trusted when it verifies',
    },
    'allow-unsigned': { type: 'boolean', description: allowUnsigned },
  };
}

/** `--sigstore-key FILE` (repeatable), shared by pack, verify, inspect and unpack. */
export const sigstoreKeyOption: OptionGroup = {
  'sigstore-key': {
    type: 'array',
    string: true,
    description:
      'PEM public key (ECDSA P-256 or RSA) for Sigstore (cosign) signatures (repeatable). Default: the Red Hat release key shipped with bale',
  },
};

/** `--kubeconfig FILE`, for the commands that apply objects to a cluster. */
export const kubeconfigOption: OptionGroup = {
  kubeconfig: {
    type: 'string',
    description: 'Kubeconfig file. Default: $KUBECONFIG, ~/.kube/config, in-cluster',
  },
};

/** `--volume-size SIZE` (default 4095MiB, which fits FAT32). */
export function volumeSizeOption(description: string): OptionGroup {
  return { 'volume-size': { type: 'string', default: '4095MiB', description } };
}

/** The `<bundle-dir>` argument of the commands that read a bundle. */
export function bundleDirArgument(y: Argv): Argv {
  return y.positional('bundle-dir', { type: 'string', describe: 'The bundle directory' });
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
