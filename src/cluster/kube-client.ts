/**
 * Finds and loads the kubeconfig bale talks to the cluster with, in the order oc and
 * kubectl use: an explicit `--kubeconfig` path, then `KUBECONFIG` (a path list,
 * merged, first file wins), then `~/.kube/config`, then the in-cluster service
 * account (only when `KUBERNETES_SERVICE_HOST` is set in the env passed in).
 *
 * The env and home directory are options (this layer never reads `process`).
 * Messages never quote kubeconfig contents: a YAML error reports a position only,
 * and anything else goes through `redact` with the credentials found in the file.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { LineCounter, parseDocument } from 'yaml';
import { BaleError, messageOf } from '../errors.js';
import { redact, secretsOf, secretsOfUser } from './redact.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** `--kubeconfig`: used alone when given; must exist. */
  kubeconfig?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
  /** Where the service-account token, ca.crt and namespace live (tests point it elsewhere). */
  serviceAccountDir?: string;
}

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  /** Where it came from, for messages: a path, a path list, or "in-cluster service account". */
  source: string;
  sourceKind: 'explicit' | 'env' | 'home' | 'in-cluster';
  /** API server URL of the current context. */
  server: string;
  context: string;
  /** Default namespace of the current context, if it names one. */
  namespace?: string;
}

const NO_CONFIG_HINT =
  'Pass --kubeconfig <file>, set KUBECONFIG, or log in with `oc login` (which writes ~/.kube/config).';

function clusterError(message: string, source: string, cause?: unknown, hint?: string): BaleError {
  return new BaleError('E_CLUSTER', message, {
    hint: hint ?? NO_CONFIG_HINT,
    ...(cause === undefined ? {} : { cause }),
    details: { kubeconfig: source },
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses one kubeconfig file without ever quoting its contents in an error. */
export async function readKubeConfigFile(path: string): Promise<KubeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : `cannot be read (${code ?? messageOf(err)})`;
    throw clusterError(
      `kubeconfig ${path} ${why}`,
      path,
      err,
      code === 'ENOENT' ? NO_CONFIG_HINT : 'Check the file and its permissions.',
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  const first = doc.errors[0];
  if (first) {
    // Position only: the parser's own message can quote the file (and its token).
    const pos = lineCounter.linePos(first.pos[0]);
    throw clusterError(
      `kubeconfig ${path} is not valid YAML (line ${pos.line}, column ${pos.col})`,
      path,
      undefined,
      'Fix the file or point --kubeconfig at another one.',
    );
  }
  const parsed: unknown = doc.toJS();
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw clusterError(
      `kubeconfig ${path} is not a kubeconfig (expected a mapping with clusters, users and contexts)`,
      path,
      undefined,
      'Point --kubeconfig at a kubeconfig file.',
    );
  }
  const users = (parsed as { users?: unknown }).users;
  const secrets = Array.isArray(users) ? users.flatMap((u) => secretsOfUser(u)) : [];
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
    kc.makePathsAbsolute(dirname(path));
  } catch (err) {
    // Not the cause: a foreign error could quote the file.
    throw clusterError(
      `kubeconfig ${path} is invalid: ${redact(messageOf(err), secrets)}`,
      path,
      undefined,
      'Fix the file or point --kubeconfig at another one.',
    );
  }
  return kc;
}

/** Adds what `next` has and `base` lacks (the first file to define a name wins, as in kubectl). */
function mergeInto(base: KubeConfig, next: KubeConfig): void {
  const has = (list: readonly { name: string }[], name: string): boolean => list.some((x) => x.name === name);
  for (const c of next.getClusters()) if (!has(base.getClusters(), c.name)) base.addCluster(c);
  for (const u of next.getUsers()) if (!has(base.getUsers(), u.name)) base.addUser(u);
  for (const c of next.getContexts()) if (!has(base.getContexts(), c.name)) base.addContext(c);
  if (!base.getCurrentContext() && next.getCurrentContext()) base.setCurrentContext(next.getCurrentContext());
}

function emptyKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [], users: [], contexts: [], currentContext: undefined });
  return kc;
}

function finish(
  kc: KubeConfig,
  source: string,
  sourceKind: LoadedKubeConfig['sourceKind'],
): LoadedKubeConfig {
  const contextName = kc.getCurrentContext();
  if (!contextName) {
    throw clusterError(
      `kubeconfig ${source} has no current context`,
      source,
      undefined,
      'Run `oc login`, or `oc config use-context <name>`.',
    );
  }
  const context = kc.getContextObject(contextName);
  if (!context) {
    throw clusterError(
      `kubeconfig ${source}: current context "${contextName}" is not defined`,
      source,
      undefined,
      'Run `oc config use-context <name>` with a context that exists.',
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw clusterError(
      `kubeconfig ${source}: context "${contextName}" names cluster "${context.cluster}", which is not defined`,
      source,
      undefined,
      'Fix the context or log in again with `oc login`.',
    );
  }
  if (context.user && !kc.getCurrentUser()) {
    throw clusterError(
      `kubeconfig ${source}: context "${contextName}" names user "${context.user}", which is not defined`,
      source,
      undefined,
      'Fix the context or log in again with `oc login`.',
    );
  }
  const server = redact(withoutUserinfo(cluster.server), secretsOf(kc));
  return {
    kubeConfig: kc,
    source,
    sourceKind,
    server,
    context: contextName,
    ...(context.namespace ? { namespace: context.namespace } : {}),
  };
}

/** A server URL for messages: any user:password@ dropped. */
function withoutUserinfo(server: string): string {
  try {
    const u = new URL(server);
    if (u.username === '' && u.password === '') return server;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, server.endsWith('/') ? '/' : '');
  } catch {
    return server;
  }
}

async function inCluster(env: Record<string, string | undefined>, dir: string): Promise<LoadedKubeConfig> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const source = 'in-cluster service account';
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  if (!(await exists(tokenFile))) {
    throw clusterError(
      `KUBERNETES_SERVICE_HOST is set but there is no service-account token at ${tokenFile}`,
      source,
      undefined,
      `${NO_CONFIG_HINT} Inside a pod, mount a service-account token.`,
    );
  }
  let namespace: string | undefined;
  try {
    namespace = (await readFile(join(dir, 'namespace'), 'utf8')).trim() || undefined;
  } catch {
    namespace = undefined;
  }
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const serverHost = isIPv6(host) ? `[${host}]` : host;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'inCluster',
        server: `${scheme}://${serverHost}:${port}`,
        skipTLSVerify: false,
        ...((await exists(caFile)) ? { caFile } : {}),
      },
    ],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [
      {
        name: 'inClusterContext',
        cluster: 'inCluster',
        user: 'inClusterUser',
        ...(namespace ? { namespace } : {}),
      },
    ],
    currentContext: 'inClusterContext',
  });
  return finish(kc, source, 'in-cluster');
}

/** Resolve and load the kubeconfig; E_CLUSTER when there is none or it cannot be used. */
export async function loadKubeConfig(opts: LoadKubeConfigOptions): Promise<LoadedKubeConfig> {
  if (opts.kubeconfig !== undefined && opts.kubeconfig !== '') {
    return finish(await readKubeConfigFile(opts.kubeconfig), opts.kubeconfig, 'explicit');
  }
  const list = opts.env.KUBECONFIG;
  if (list !== undefined && list !== '') {
    const paths = list.split(delimiter).filter((p) => p !== '');
    // kubectl skips files in the list that do not exist; so do we, unless none does.
    const present: string[] = [];
    for (const p of paths) if (await exists(p)) present.push(p);
    if (present.length === 0) {
      throw clusterError(`KUBECONFIG names ${paths.join(delimiter)}, and none of these files exists`, list);
    }
    const kc = emptyKubeConfig();
    for (const p of present) mergeInto(kc, await readKubeConfigFile(p));
    return finish(kc, present.join(delimiter), 'env');
  }
  const home = join(opts.homeDir, '.kube', 'config');
  if (await exists(home)) {
    return finish(await readKubeConfigFile(home), home, 'home');
  }
  if (opts.env.KUBERNETES_SERVICE_HOST) {
    return inCluster(opts.env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  }
  throw clusterError(
    `no kubeconfig found: no --kubeconfig, KUBECONFIG is not set, ${home} does not exist, and not running in a cluster`,
    home,
  );
}
