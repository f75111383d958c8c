/**
 * A fake Kubernetes API server on loopback, for testing cluster apply.
 *
 * No real Kubernetes API server can be installed on these machines, so cluster apply
 * is tested against this loopback server that implements the ConfigMap and
 * custom-resource endpoints: just enough of the API for @kubernetes/client-node's
 * generic KubernetesObjectApi:
 *
 * - discovery: `/api/v1`, `/apis/config.openshift.io/v1`,
 *   `/apis/operator.openshift.io/v1alpha1` resource lists (a group can be switched off
 *   to play an older cluster);
 * - `/api/v1/namespaces/{ns}/configmaps[/{name}]` GET (read, list), POST, PUT, DELETE;
 * - cluster-scoped `/apis/config.openshift.io/v1/imagedigestmirrorsets[/{name}]`,
 *   `…/imagetagmirrorsets[/{name}]` and
 *   `/apis/operator.openshift.io/v1alpha1/imagecontentsourcepolicies[/{name}]`, and the
 *   namespaced `/apis/updateservice.operator.openshift.io/v1/namespaces/{ns}/updateservices[/{name}]`
 *   (the OpenShift Update Service operator's resource), same verbs;
 * - bearer-token auth (401 without the right token), resourceVersion (bumped on each
 *   write; a PUT carrying a stale one gets 409 Conflict), 404 NotFound, 409 AlreadyExists;
 * - `dryRun=All` on writes: validated and answered, nothing stored;
 * - injectable faults (`inject`): answer a given status for matching requests
 *   (e.g. 403 for one object, 500 once), or run a hook first (e.g. to create the
 *   object just before a POST, for the create race);
 * - a request log (method, path, query, status) with the Authorization header never
 *   recorded.
 *
 * It speaks HTTPS with a throwaway CA and server certificate made by `openssl`
 * (test-ca.ts; the kubeconfig carries the CA as certificate-authority-data), or plain HTTP with
 * `insecure-skip-tls-verify` when started with `{ tls: false }`.
 * PATCH is not implemented (bale's apply never sends it): it answers 405.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTestCa } from './test-ca.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export interface FakeKubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Whether the request carried the right bearer token. */
  authorized: boolean;
  /** Parsed JSON body of POST/PUT. */
  body?: unknown;
}

export interface Injection {
  method?: string;
  /** Resource plural, e.g. "configmaps", "imagedigestmirrorsets". */
  resource?: string;
  namespace?: string;
  /** Object name; for POST it is taken from the body. */
  name?: string;
  /** Match discovery requests (`/api/v1`, `/apis/<g>/<v>`) only. */
  discovery?: boolean;
  /** Status to answer instead of handling the request. Omit to only run `before`. */
  status?: number;
  message?: string;
  /** How many matching requests this applies to. Default: all. */
  times?: number;
  /** Runs when a request matches, before it is handled. */
  before?: () => void;
}

interface ResourceDef {
  group: string; // '' for core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  {
    group: 'config.openshift.io',
    version: 'v1',
    plural: 'imagedigestmirrorsets',
    kind: 'ImageDigestMirrorSet',
    namespaced: false,
  },
  {
    group: 'config.openshift.io',
    version: 'v1',
    plural: 'imagetagmirrorsets',
    kind: 'ImageTagMirrorSet',
    namespaced: false,
  },
  {
    group: 'operator.openshift.io',
    version: 'v1alpha1',
    plural: 'imagecontentsourcepolicies',
    kind: 'ImageContentSourcePolicy',
    namespaced: false,
  },
  {
    group: 'updateservice.operator.openshift.io',
    version: 'v1',
    plural: 'updateservices',
    kind: 'UpdateService',
    namespaced: true,
  },
];

type Obj = Record<string, unknown> & {
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

export interface FakeKube {
  url: string;
  token: string;
  /** PEM of the CA that signed the server certificate (TLS only). */
  caPem?: string;
  log: FakeKubeRequest[];
  /** Requests that would change state (POST/PUT/PATCH/DELETE), dry runs included. */
  writes(): FakeKubeRequest[];
  inject(injection: Injection): void;
  /** Turn off an API group/version (discovery 404s), e.g. "config.openshift.io/v1". */
  disableGroupVersion(groupVersion: string): void;
  /** Read straight from the store. */
  get(resource: string, name: string, namespace?: string): Obj | undefined;
  /** Put straight into the store (as another client would), bumping resourceVersion. */
  put(obj: Record<string, unknown>): Obj;
  count(): number;
  /** Write a kubeconfig pointing at this server; returns its path. */
  writeKubeconfig(
    path: string,
    opts?: { token?: string; namespace?: string; context?: string },
  ): Promise<string>;
  kubeconfigYaml(opts?: { token?: string; namespace?: string; context?: string }): string;
  stop(): Promise<void>;
}

/** A throwaway CA and a server certificate for 127.0.0.1 (openssl, via test-ca.ts). */
async function serverCertificate(): Promise<{ key: string; cert: string; ca: string }> {
  const dir = await makeTempDir('fake-kube-tls-');
  try {
    const made = await makeTestCa(dir, 'fake-kube-ca');
    return {
      key: await readFile(made.keyFile, 'utf8'),
      cert: await readFile(made.certFile, 'utf8'),
      ca: await readFile(made.caFile, 'utf8'),
    };
  } finally {
    await removeTempDir(dir);
  }
}

function status(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(details ? { details } : {}),
  };
}

export async function startFakeKube(opts: { tls?: boolean; token?: string } = {}): Promise<FakeKube> {
  const tls = opts.tls ?? true;
  const token = opts.token ?? `fake-token-${randomBytes(12).toString('hex')}`;
  const store = new Map<string, Obj>();
  const log: FakeKubeRequest[] = [];
  const injections: Injection[] = [];
  const disabled = new Set<string>();
  let rv = 1000;
  let uid = 0;

  const keyOf = (plural: string, ns: string | undefined, name: string): string =>
    `${plural}/${ns ?? ''}/${name}`;

  const stamp = (obj: Obj, previous?: Obj): Obj => {
    const meta = obj.metadata;
    meta.resourceVersion = String(++rv);
    meta.uid = previous?.metadata.uid ?? `uid-${++uid}`;
    meta.creationTimestamp = previous?.metadata.creationTimestamp ?? '2025-01-01T00:00:00Z';
    return obj;
  };

  function findInjection(
    method: string,
    resource: string | undefined,
    ns: string | undefined,
    name: string | undefined,
    discovery: boolean,
  ): Injection | undefined {
    for (const inj of injections) {
      if ((inj.times ?? Infinity) <= 0) continue;
      if (inj.discovery !== undefined && inj.discovery !== discovery) continue;
      if (inj.method !== undefined && inj.method !== method) continue;
      if (inj.resource !== undefined && inj.resource !== resource) continue;
      if (inj.namespace !== undefined && inj.namespace !== ns) continue;
      if (inj.name !== undefined && inj.name !== name) continue;
      if (inj.times !== undefined) inj.times -= 1;
      return inj;
    }
    return undefined;
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams.entries());
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const entry: FakeKubeRequest = { method, path: url.pathname, query, status: 0, authorized };
    log.push(entry);
    const send = (code: number, body: unknown): void => {
      entry.status = code;
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };

    const raw = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : '';
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
        entry.body = body;
      } catch {
        return send(400, status(400, 'BadRequest', 'request body is not JSON'));
      }
    }

    if (!authorized) return send(401, status(401, 'Unauthorized', 'Unauthorized'));

    // Discovery.
    const disc = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(url.pathname);
    if (disc && method === 'GET') {
      const group = disc[1] ? '' : (disc[2] ?? '');
      const version = disc[1] ?? disc[3] ?? '';
      const gv = group ? `${group}/${version}` : version;
      const inj = findInjection(method, undefined, undefined, undefined, true);
      inj?.before?.();
      if (inj?.status !== undefined)
        return send(inj.status, status(inj.status, 'Injected', inj.message ?? 'injected failure'));
      const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
      if (defs.length === 0 || disabled.has(gv))
        return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return send(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: defs.map((d) => ({
          name: d.plural,
          singularName: d.kind.toLowerCase(),
          namespaced: d.namespaced,
          kind: d.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
    }

    // Resources.
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(
        url.pathname,
      );
    const group = m ? (m[1] ? '' : (m[2] ?? '')) : '';
    const version = m ? (m[1] ?? m[3] ?? '') : '';
    const def = m
      ? RESOURCES.find((r) => r.group === group && r.version === version && r.plural === m[5])
      : undefined;
    const gv = group ? `${group}/${version}` : version;
    if (!m || !def || disabled.has(gv) || def.namespaced !== (m[4] !== undefined)) {
      return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const ns = m[4] === undefined ? undefined : decodeURIComponent(m[4]);
    const pathName = m[6] === undefined ? undefined : decodeURIComponent(m[6]);
    const obj = body as Obj | undefined;
    const bodyName =
      obj && typeof obj === 'object' && obj.metadata && typeof obj.metadata.name === 'string'
        ? obj.metadata.name
        : undefined;
    const inj = findInjection(method, def.plural, ns, pathName ?? bodyName, false);
    inj?.before?.();
    if (inj?.status !== undefined) {
      const reason = inj.status === 403 ? 'Forbidden' : inj.status >= 500 ? 'InternalError' : 'Injected';
      const msg =
        inj.message ??
        (inj.status === 403
          ? `${def.plural} "${pathName ?? bodyName ?? ''}" is forbidden: User "system:serviceaccount:test:bale" cannot ${method === 'GET' ? 'get' : method === 'POST' ? 'create' : 'update'} resource "${def.plural}" in API group "${def.group}"`
          : 'injected failure');
      return send(inj.status, status(inj.status, reason, msg));
    }
    const dryRun = query.dryRun;
    if (dryRun !== undefined && dryRun !== 'All') {
      return send(400, status(400, 'BadRequest', `unsupported dryRun value "${dryRun}"`));
    }

    const kindCheck = (o: Obj): string | undefined => {
      if (o.kind !== def.kind || o.apiVersion !== gv)
        return `expected ${gv} ${def.kind}, got ${String(o.apiVersion)} ${String(o.kind)}`;
      if (!o.metadata || typeof o.metadata.name !== 'string' || o.metadata.name === '')
        return 'metadata.name is required';
      if (def.namespaced && o.metadata.namespace !== undefined && o.metadata.namespace !== ns)
        return 'the namespace of the object does not match the namespace on the request';
      return undefined;
    };

    if (method === 'GET' && pathName === undefined) {
      const items = [...store.entries()]
        .filter(([k]) => k.startsWith(`${def.plural}/${ns ?? ''}/`))
        .map(([, v]) => v);
      return send(200, {
        kind: `${def.kind}List`,
        apiVersion: gv,
        metadata: { resourceVersion: String(rv) },
        items,
      });
    }
    if (method === 'GET') {
      const found = store.get(keyOf(def.plural, ns, pathName ?? ''));
      if (!found)
        return send(
          404,
          status(404, 'NotFound', `${def.plural} "${pathName}" not found`, {
            name: pathName,
            kind: def.plural,
          }),
        );
      return send(200, found);
    }
    if (method === 'POST' && pathName === undefined) {
      if (!obj) return send(400, status(400, 'BadRequest', 'body required'));
      const bad = kindCheck(obj);
      if (bad) return send(400, status(400, 'BadRequest', bad));
      const key = keyOf(def.plural, ns, obj.metadata.name);
      if (store.has(key))
        return send(
          409,
          status(409, 'AlreadyExists', `${def.plural} "${obj.metadata.name}" already exists`, {
            name: obj.metadata.name,
            kind: def.plural,
          }),
        );
      if (obj.metadata.resourceVersion !== undefined)
        return send(
          400,
          status(400, 'BadRequest', 'resourceVersion should not be set on objects to be created'),
        );
      const created: Obj = structuredClone(obj);
      if (def.namespaced) created.metadata.namespace = ns;
      stamp(created);
      if (dryRun !== 'All') store.set(key, created);
      return send(201, created);
    }
    if (method === 'PUT' && pathName !== undefined) {
      if (!obj) return send(400, status(400, 'BadRequest', 'body required'));
      const bad =
        kindCheck(obj) ??
        (obj.metadata.name !== pathName
          ? 'the name of the object does not match the name on the URL'
          : undefined);
      if (bad) return send(400, status(400, 'BadRequest', bad));
      const key = keyOf(def.plural, ns, pathName);
      const current = store.get(key);
      if (!current)
        return send(
          404,
          status(404, 'NotFound', `${def.plural} "${pathName}" not found`, {
            name: pathName,
            kind: def.plural,
          }),
        );
      const sentRv = obj.metadata.resourceVersion;
      if (sentRv !== undefined && sentRv !== current.metadata.resourceVersion) {
        return send(
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${def.plural} "${pathName}": the object has been modified; please apply your changes to the latest version and try again`,
          ),
        );
      }
      const updated: Obj = structuredClone(obj);
      if (def.namespaced) updated.metadata.namespace = ns;
      stamp(updated, current);
      if (dryRun !== 'All') store.set(key, updated);
      return send(200, updated);
    }
    if (method === 'DELETE' && pathName !== undefined) {
      const key = keyOf(def.plural, ns, pathName);
      const current = store.get(key);
      if (!current) return send(404, status(404, 'NotFound', `${def.plural} "${pathName}" not found`));
      if (dryRun !== 'All') store.delete(key);
      return send(200, status(200, '', 'deleted'));
    }
    return send(405, status(405, 'MethodNotAllowed', `${method} is not supported by the fake API server`));
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status(500, 'InternalError', String(err))));
    });
  };
  const keyPair = tls ? await serverCertificate() : undefined;
  const server: Server = keyPair
    ? createHttpsServer({ key: keyPair.key, cert: keyPair.cert }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const kubeconfigYaml = (o: { token?: string; namespace?: string; context?: string } = {}): string => {
    const ctx = o.context ?? 'fake';
    const cluster = keyPair
      ? `    server: ${url}\n    certificate-authority-data: ${Buffer.from(keyPair.ca).toString('base64')}\n`
      : `    server: ${url}\n    insecure-skip-tls-verify: true\n`;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${ctx}-cluster`,
      '  cluster:',
      cluster.trimEnd(),
      'users:',
      `- name: ${ctx}-user`,
      '  user:',
      `    token: ${o.token ?? token}`,
      'contexts:',
      `- name: ${ctx}`,
      '  context:',
      `    cluster: ${ctx}-cluster`,
      `    user: ${ctx}-user`,
      ...(o.namespace ? [`    namespace: ${o.namespace}`] : []),
      `current-context: ${ctx}`,
      '',
    ].join('\n');
  };

  return {
    url,
    token,
    ...(keyPair ? { caPem: keyPair.ca } : {}),
    log,
    writes: () => log.filter((r) => r.method !== 'GET'),
    inject: (i) => void injections.push(i),
    disableGroupVersion: (gv) => void disabled.add(gv),
    get: (resource, name, namespace) => store.get(keyOf(resource, namespace, name)),
    put: (o) => {
      const obj = structuredClone(o) as Obj;
      const def = RESOURCES.find((r) => r.kind === obj.kind);
      if (!def) throw new Error(`fake-kube: unknown kind ${String(obj.kind)}`);
      const key = keyOf(def.plural, def.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
      return store.set(key, stamp(obj, store.get(key))).get(key) as Obj;
    },
    count: () => store.size,
    kubeconfigYaml,
    writeKubeconfig: async (path, o) => {
      await writeFile(path, kubeconfigYaml(o), { mode: 0o600 });
      return path;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
