/**
 * Applies objects to a cluster the way `oc adm release mirror --apply-release-image-signature`
 * does (formats.md §3): create; when the object exists and matches, leave it; when it
 * differs, report a conflict unless `overwrite`, which replaces it (carrying the
 * resourceVersion). Works for any kind the API server advertises through discovery,
 * through @kubernetes/client-node's generic KubernetesObjectApi.
 *
 * Every object gets a result; one failure (403, 500, an unknown kind) never stops the
 * others. The caller decides the exit code from the results. `dryRun` sends the
 * writes with `dryRun=All`, so the server validates and admits them but stores nothing.
 *
 * "Matches" compares only what bale sets: for a ConfigMap `data` and `binaryData`
 * exactly; for other kinds every top-level field we set (`spec`), where the server may
 * have added defaulted fields; for all kinds, our labels and annotations must be
 * present with our values (others may carry more).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  ApiException,
  KubernetesObjectApi,
  type KubeConfig,
  type V1APIResource,
} from '@kubernetes/client-node';
import { messageOf } from '../errors.js';
import { describeObject, type KubeObject } from './kube-object.js';
import { redact, secretsOf } from './redact.js';

export type { KubeObject, KubeMetadata } from './kube-object.js';
export { loadManifests } from './manifests.js';

export type ApplyAction =
  'created' | 'unchanged' | 'updated' | 'conflict' | 'error' | 'would-create' | 'would-update';

export interface ApplyResult {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: ApplyAction;
  /** Why, for conflict and error (no credentials). */
  message?: string;
  /** HTTP status of the failed request, for errors that had one. */
  status?: number;
}

export interface ApplyOptions {
  kubeConfig: KubeConfig;
  overwrite: boolean;
  dryRun: boolean;
  /** Sent as fieldManager on writes. Default "bale". */
  fieldManager?: string;
  /** Retries of 429/5xx and connection failures per request. Default 3 attempts, 250 ms base delay. */
  retry?: { attempts?: number; baseDelayMs?: number };
  /** Called once per object as soon as its result is known. */
  onResult?: (result: ApplyResult) => void;
  /**
   * Stops the run: no API call starts after the abort (nor a retry wait goes on); the
   * call in flight, if any, ends on its own (the Kubernetes client takes no signal).
   */
  signal?: AbortSignal;
}

/** True when any result makes the run a failure (conflicts and errors). */
export function applyFailed(results: readonly ApplyResult[]): boolean {
  return results.some((r) => r.action === 'conflict' || r.action === 'error');
}

/** Exposes discovery, which KubernetesObjectApi keeps protected. */
class ObjectApi extends KubernetesObjectApi {
  static make(kc: KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }
  kindInfo(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
  get namespaceDefault(): string {
    return this.defaultNamespace;
  }
}

const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);
const MAX_ROUNDS = 3;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** JSON view of a client-node model instance (drops undefined, Dates to strings). */
function plain(v: unknown): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

function asRecord(v: unknown): Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Json>) : {};
}

/** Every key of `want` present in `have` with a matching value; arrays element-wise. */
function contains(have: Json | undefined, want: Json | undefined): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have) || have === undefined) return false;
    return Object.entries(want).every(([k, w]) => contains(have[k], w));
  }
  return isDeepStrictEqual(have, want);
}

/** Fields that differ between the live object and ours ([] = identical in what we set). */
export function differences(existing: unknown, desired: KubeObject): string[] {
  const have = asRecord(plain(existing));
  const want = asRecord(plain(desired));
  const diffs: string[] = [];
  const haveMeta = asRecord(have.metadata);
  const wantMeta = asRecord(want.metadata);
  for (const field of ['labels', 'annotations']) {
    if (!contains(asRecord(haveMeta[field]), asRecord(wantMeta[field]))) diffs.push(`metadata.${field}`);
  }
  const skip = new Set(['apiVersion', 'kind', 'metadata', 'status']);
  if (desired.apiVersion === 'v1' && desired.kind === 'ConfigMap') {
    for (const field of ['data', 'binaryData']) {
      if (!isDeepStrictEqual(asRecord(have[field]), asRecord(want[field]))) diffs.push(field);
      skip.add(field);
    }
  }
  for (const [field, value] of Object.entries(want)) {
    if (!skip.has(field) && !contains(have[field], value)) diffs.push(field);
  }
  return diffs;
}

/** Our object, with the live object's resourceVersion and the labels/annotations others added. */
function replacement(existing: unknown, desired: KubeObject, namespace: string | undefined): KubeObject {
  const live = asRecord(asRecord(plain(existing)).metadata);
  const ours = structuredClone(desired);
  const metadata: KubeObject['metadata'] = { ...ours.metadata, name: ours.metadata.name };
  if (namespace) metadata.namespace = namespace;
  const labels = { ...(asRecord(live.labels) as Record<string, string>), ...(ours.metadata.labels ?? {}) };
  const annotations = {
    ...(asRecord(live.annotations) as Record<string, string>),
    ...(ours.metadata.annotations ?? {}),
  };
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  for (const keep of ['finalizers', 'ownerReferences'] as const) {
    if (live[keep] !== undefined && metadata[keep] === undefined) metadata[keep] = live[keep];
  }
  if (typeof live.resourceVersion === 'string') metadata.resourceVersion = live.resourceVersion;
  return { ...ours, metadata };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? (err.code as number) : undefined;
}

/** The API server's own words (a Status message) or the error's message. */
function reasonOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
    }
    const msg = asRecord(parsed as Json).message;
    if (typeof msg === 'string' && msg !== '') return `HTTP ${err.code}: ${msg}`;
    return `HTTP ${err.code}`;
  }
  return messageOf(err);
}

/** What applying each object shares: the API, the caller's choices, the retrying call. */
interface Applier {
  api: ObjectApi;
  secrets: readonly string[];
  fieldManager: string;
  dryRun: 'All' | undefined;
  overwrite: boolean;
  /** One API call, retried on transient failures. */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * Applies each object in turn (discover its kind, read, create or compare, replace
 * under `overwrite`), reporting each result as soon as it is known.
 */
export async function applyObjects(
  objects: readonly KubeObject[],
  opts: ApplyOptions,
): Promise<ApplyResult[]> {
  const secrets = secretsOf(opts.kubeConfig);
  const ctx: Applier = {
    api: ObjectApi.make(opts.kubeConfig),
    secrets,
    fieldManager: opts.fieldManager ?? 'bale',
    dryRun: opts.dryRun ? 'All' : undefined,
    overwrite: opts.overwrite,
    call: retrying(Math.max(1, opts.retry?.attempts ?? 3), opts.retry?.baseDelayMs ?? 250, opts.signal),
  };
  const results: ApplyResult[] = [];
  for (const obj of objects) {
    opts.signal?.throwIfAborted();
    let r: ApplyResult;
    try {
      r = await applyOne(ctx, obj);
    } catch (err) {
      opts.signal?.throwIfAborted(); // an interrupt ends the run; it is no object's result
      // Anything unforeseen still becomes this object's result, not the end of the run.
      r = {
        ...baseResult(obj),
        message: redact(
          `cannot apply ${describeObject({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name })}: ${messageOf(err)}`,
          secrets,
        ),
      };
    }
    // An object whose calls the interrupt cut short has no result: the run ends here.
    opts.signal?.throwIfAborted();
    if (r.message !== undefined) r.message = redact(r.message, secrets);
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}

/**
 * An API call runner that retries 408/429/5xx and connection failures with backoff; after
 * an abort of `signal` it starts no call and waits no more.
 */
function retrying(attempts: number, baseDelayMs: number, signal?: AbortSignal): Applier['call'] {
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        return await fn();
      } catch (err) {
        signal?.throwIfAborted();
        const status = statusOf(err);
        const transient =
          status === undefined
            ? !(err instanceof ApiException) && isNetworkError(err)
            : TRANSIENT.has(status);
        if (!transient || attempt >= attempts) throw err;
        await sleep(baseDelayMs * 2 ** (attempt - 1), undefined, signal ? { signal } : {});
      }
    }
  };
}

/** The result naming `obj` as given, before anything is known (action `error`). */
function baseResult(obj: KubeObject): ApplyResult {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    action: 'error',
  };
}

/** An error result for a failed `verb`, saying what to do for 401 and 403 (no credentials). */
function failure(ctx: Applier, base: ApplyResult, err: unknown, verb: string): ApplyResult {
  const status = statusOf(err);
  const what = describeObject(base);
  let message: string;
  if (status === 403)
    message = `not permitted to ${verb} ${what}: the user in the kubeconfig lacks permission (${reasonOf(err)})`;
  else if (status === 401)
    message = `cannot ${verb} ${what}: the API server rejected the kubeconfig's credentials (HTTP 401); log in again`;
  else message = `cannot ${verb} ${what}: ${reasonOf(err)}`;
  return {
    ...base,
    action: 'error',
    message: redact(message, ctx.secrets),
    ...(status === undefined ? {} : { status }),
  };
}

/** One object: where it lands (discovery), then create, compare or replace it. */
async function applyOne(ctx: Applier, obj: KubeObject): Promise<ApplyResult> {
  const base = baseResult(obj);
  let info: V1APIResource | undefined;
  try {
    info = await ctx.call(() => ctx.api.kindInfo(obj.apiVersion, obj.kind));
  } catch (err) {
    const status = statusOf(err);
    if (status === 404) {
      return {
        ...base,
        message: `the cluster does not serve ${obj.apiVersion} (no such API group/version), so ${describeObject(base)} cannot be applied`,
        status,
      };
    }
    return failure(ctx, base, err, 'discover the API for');
  }
  if (!info) {
    return {
      ...base,
      message: `the cluster does not serve kind ${obj.kind} in ${obj.apiVersion}, so ${describeObject(base)} cannot be applied`,
    };
  }
  // Where the object lands: cluster-scoped kinds have no namespace; namespaced ones
  // default to the kubeconfig context's namespace, as kubectl does.
  const namespace = info.namespaced ? (obj.metadata.namespace ?? ctx.api.namespaceDefault) : undefined;
  const { namespace: _dropped, ...metaNoNs } = obj.metadata;
  const desired: KubeObject = { ...obj, metadata: namespace ? { ...metaNoNs, namespace } : metaNoNs };
  const result: ApplyResult = { ...base, ...(namespace ? { namespace } : {}) };
  if (!namespace) delete result.namespace;
  return converge(ctx, desired, namespace, result, base);
}

/**
 * Read, then create or compare and (under `overwrite`) replace; a write that loses a
 * race (409, or 404 on replace) reads again, up to MAX_ROUNDS times.
 */
async function converge(
  ctx: Applier,
  desired: KubeObject,
  namespace: string | undefined,
  result: ApplyResult,
  /** The object as given: what a failed request's result names. */
  base: ApplyResult,
): Promise<ApplyResult> {
  const { api, call, dryRun, fieldManager } = ctx;
  const header = {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: { name: desired.metadata.name, ...(namespace ? { namespace } : {}) },
  };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let existing: unknown;
    try {
      existing = await call(() => api.read(structuredClone(header)));
    } catch (err) {
      if (statusOf(err) !== 404) return failure(ctx, base, err, 'read');
      existing = undefined;
    }
    if (existing === undefined) {
      try {
        await call(() => api.create(structuredClone(desired), undefined, dryRun, fieldManager));
        return { ...result, action: dryRun ? 'would-create' : 'created' };
      } catch (err) {
        if (statusOf(err) === 409) continue; // created meanwhile: compare with what is there now
        return failure(ctx, base, err, dryRun ? 'create (dry run)' : 'create');
      }
    }
    const diffs = differences(existing, desired);
    if (diffs.length === 0) return { ...result, action: 'unchanged' };
    if (!ctx.overwrite) {
      return {
        ...result,
        action: 'conflict',
        message: `${describeObject(result)} exists with different ${diffs.join(', ')}; not changed (use --overwrite to replace it)`,
      };
    }
    try {
      await call(() =>
        api.replace(replacement(existing, desired, namespace), undefined, dryRun, fieldManager),
      );
      return { ...result, action: dryRun ? 'would-update' : 'updated' };
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) continue; // changed since we read it: read again
      if (status === 404) continue; // deleted since we read it: create it
      return failure(ctx, base, err, dryRun ? 'replace (dry run)' : 'replace');
    }
  }
  return {
    ...result,
    action: 'error',
    status: 409,
    message: `${describeObject(result)} kept changing while being applied (${MAX_ROUNDS} attempts); try again`,
  };
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const text = messageOf(err);
  return (
    (typeof code === 'string' && /^(ECONNRESET|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_SOCKET)$/.test(code)) ||
    /ECONNRESET|socket hang up|ETIMEDOUT|EAI_AGAIN/.test(text)
  );
}
