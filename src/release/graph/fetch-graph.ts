/**
 * Getting an update graph: from the update service (`--graph-url`, else
 * `UPDATE_URL_OVERRIDE` as oc-mirror honours it, else the public OpenShift endpoint),
 * with `channel` and `arch` query parameters and `Accept: application/json`; or from
 * a saved file (`--graph-file`). Both are size-capped; the bytes are returned with
 * the parsed graph so the exact document can be carried in the bundle.
 */
import { open } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { BaleError, messageOf } from '../../errors.js';
import { parseUpdateGraph, type UpdateGraph } from './update-graph.js';

/** The public OpenShift update service's graph endpoint (oc-mirror's `UpdateURL`). */
export const DEFAULT_GRAPH_URL = 'https://api.openshift.com/api/upgrades_info/v1/graph';
/** oc-mirror's environment variable that replaces the graph endpoint. */
export const GRAPH_URL_ENV = 'UPDATE_URL_OVERRIDE';
export const DEFAULT_MAX_GRAPH_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

export interface FetchedGraph {
  graph: UpdateGraph;
  /** The document exactly as read. */
  bytes: Buffer;
  /** The URL asked (credentials removed) or the file read. */
  source: string;
}

export interface GraphUrlOptions {
  /** `--graph-url`; wins over the environment. */
  graphUrl?: string;
  /** The process environment, for UPDATE_URL_OVERRIDE (passed in: no `process` here). */
  env?: Record<string, string | undefined>;
}

/** The endpoint to ask: --graph-url, else UPDATE_URL_OVERRIDE, else the public service. */
export function graphEndpoint(opts: GraphUrlOptions): string {
  const override = opts.env?.[GRAPH_URL_ENV];
  return opts.graphUrl ?? (override !== undefined && override !== '' ? override : DEFAULT_GRAPH_URL);
}

function redact(url: URL): string {
  const u = new URL(url.toString());
  u.username = '';
  u.password = '';
  return u.toString();
}

/** The graph URL for a channel and architecture (Go naming: amd64, arm64, multi, …). */
export function graphUrl(endpoint: string, channel: string, arch: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw new BaleError('E_CONFIG', `update graph URL ${JSON.stringify(endpoint)} is not a URL`, {
      hint: `Give --graph-url (or ${GRAPH_URL_ENV}) as https://host/path.`,
      cause: err,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BaleError('E_CONFIG', `update graph URL ${redact(url)} is not http(s)`, {
      hint: `Give --graph-url (or ${GRAPH_URL_ENV}) as https://host/path, or a saved graph with --graph-file.`,
    });
  }
  url.searchParams.set('channel', channel);
  url.searchParams.set('arch', arch);
  return url;
}

export interface FetchGraphOptions extends GraphUrlOptions {
  channel: string;
  /** Go naming, as the update service expects. */
  arch: string;
  maxBytes?: number;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

function tooLarge(source: string, max: number): BaleError {
  return new BaleError('E_TOO_LARGE', `update graph ${source} is larger than ${max} bytes`, {
    hint: 'An update graph is a few megabytes; check the URL or file.',
    details: { source, limit: max },
  });
}

/** Fetches and parses the graph of one channel and architecture. */
export async function fetchUpdateGraph(opts: FetchGraphOptions): Promise<FetchedGraph> {
  const url = graphUrl(graphEndpoint(opts), opts.channel, opts.arch);
  const shown = redact(url);
  const max = opts.maxBytes ?? DEFAULT_MAX_GRAPH_BYTES;
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fail = (err: unknown): BaleError => {
    if (opts.signal?.aborted) {
      const reason: unknown = opts.signal.reason;
      if (reason instanceof BaleError) return reason;
    }
    return new BaleError('E_NETWORK', `cannot fetch update graph ${shown}: ${messageOf(err)}`, {
      hint: `Check the network and --graph-url (or ${GRAPH_URL_ENV}); where the service cannot be reached, give a saved graph with --graph-file.`,
      cause: err,
      details: { url: shown },
    });
  };
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(opts.dispatcher !== undefined ? { dispatcher: opts.dispatcher } : {}),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    throw fail(err);
  }
  const { statusCode, body, headers } = res;
  if (statusCode !== 200) {
    const text = await readCapped(body, 512, 'truncate').catch(() => Buffer.alloc(0));
    throw new BaleError('E_HTTP', `update graph ${shown} answered HTTP ${statusCode}`, {
      hint:
        statusCode === 400 || statusCode === 404
          ? 'Check the channel name and architecture, and the --graph-url path.'
          : 'The update service has a problem; try again later or give a saved graph with --graph-file.',
      details: { url: shown, status: statusCode, body: text.toString('utf8').slice(0, 512) },
    });
  }
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    body.on('error', () => {});
    body.destroy();
    throw tooLarge(shown, max);
  }
  let bytes: Buffer;
  try {
    bytes = await readCapped(body, max, tooLarge(shown, max));
  } catch (err) {
    if (err instanceof BaleError) throw err;
    throw fail(err);
  }
  return { graph: parseUpdateGraph(bytes, shown), bytes, source: shown };
}

/** The body, at most `max` bytes: beyond, throws `over` (or returns the first `max` bytes with 'truncate'). */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  max: number,
  over: BaleError | 'truncate',
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (length + b.length > max) {
      body.on('error', () => {});
      body.destroy();
      if (over === 'truncate') {
        chunks.push(b.subarray(0, max - length));
        return Buffer.concat(chunks, max);
      }
      throw over;
    }
    length += b.length;
    chunks.push(b);
  }
  return Buffer.concat(chunks, length);
}

/** Reads and parses a saved graph (`--graph-file`). */
export async function readUpdateGraphFile(
  path: string,
  maxBytes = DEFAULT_MAX_GRAPH_BYTES,
): Promise<FetchedGraph> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new BaleError('E_IO', `cannot read update graph ${path}: ${messageOf(err)}`, {
      hint: 'Check the path given to --graph-file.',
      cause: err,
      details: { file: path },
    });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile())
      throw new BaleError('E_IO', `update graph ${path} is not a regular file`, { details: { file: path } });
    if (st.size > maxBytes) throw tooLarge(path, maxBytes);
    const bytes = await handle.readFile();
    if (bytes.length > maxBytes) throw tooLarge(path, maxBytes);
    return { graph: parseUpdateGraph(bytes, path), bytes, source: path };
  } finally {
    await handle.close();
  }
}
