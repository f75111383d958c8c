/**
 * A loopback Cincinnati update service (`/api/upgrades_info/v1/graph`) serving graphs
 * shaped like the real OpenShift one: `nodes` (version, payload pinned by digest,
 * metadata with the channels key), `edges` as index pairs, `conditionalEdges` with
 * `risks` (name, message, url, matchingRules), filtered by the `channel` and `arch`
 * query parameters the way the service filters them. Needs `Accept: application/json`
 * (406 otherwise, as the service answers). Every request is logged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const CHANNELS_KEY = 'io.openshift.upgrades.graph.release.channels';
export const GRAPH_PATH = '/api/upgrades_info/v1/graph';

export interface GraphRiskSpec {
  name: string;
  message: string;
  url: string;
  matchingRules?: { type: string; [k: string]: unknown }[];
}

/** One architecture's full graph, by version. */
export interface GraphSpec {
  /** version → channels it is in. */
  releases: Record<string, string[]>;
  edges: [string, string][];
  conditionalEdges?: { edges: [string, string][]; risks: GraphRiskSpec[] }[];
  /** Payload repository (default quay.io/openshift-release-dev/ocp-release). */
  repository?: string;
  /** version → the payload pullspec pinned by digest (e.g. a release pushed to a loopback registry); default: repository@payloadDigest. */
  payloads?: Record<string, string>;
}

/** A deterministic digest for a release version and architecture. */
export function payloadDigest(version: string, arch: string): string {
  return `sha256:${createHash('sha256').update(`${version}/${arch}`).digest('hex')}`;
}

/** The graph document of one channel (or of every channel when undefined), as the service serves it. */
export function graphDocument(spec: GraphSpec, arch: string, channel?: string): Record<string, unknown> {
  const repo = spec.repository ?? 'quay.io/openshift-release-dev/ocp-release';
  const versions = Object.keys(spec.releases).filter(
    (v) => channel === undefined || spec.releases[v]!.includes(channel),
  );
  const index = new Map(versions.map((v, i) => [v, i]));
  const nodes = versions.map((v) => ({
    version: v,
    payload: spec.payloads?.[v] ?? `${repo}@${payloadDigest(v, arch)}`,
    metadata: {
      [CHANNELS_KEY]: spec.releases[v]!.join(','),
      'io.openshift.upgrades.graph.release.manifestref':
        spec.payloads?.[v]?.slice(spec.payloads[v]!.indexOf('@') + 1) ?? payloadDigest(v, arch),
      url: `https://access.redhat.com/errata/RHSA-${v}`,
    },
  }));
  const edges = spec.edges
    .filter(([a, b]) => index.has(a) && index.has(b))
    .map(([a, b]) => [index.get(a)!, index.get(b)!]);
  const conditionalEdges = (spec.conditionalEdges ?? [])
    .map((c) => ({
      edges: c.edges.filter(([a, b]) => index.has(a) && index.has(b)).map(([from, to]) => ({ from, to })),
      risks: c.risks.map((r) => ({
        url: r.url,
        name: r.name,
        message: r.message,
        matchingRules: r.matchingRules ?? [{ type: 'PromQL', promql: { promql: 'group(cluster_version)' } }],
      })),
    }))
    .filter((c) => c.edges.length > 0);
  return { version: 1, nodes, edges, conditionalEdges };
}

export interface GraphRequestLog {
  path: string;
  channel: string | null;
  arch: string | null;
  accept: string | undefined;
  status: number;
}

export interface GraphServer {
  /** http://127.0.0.1:port */
  url: string;
  /** The graph endpoint: url + GRAPH_PATH. */
  endpoint: string;
  log: GraphRequestLog[];
  /** Replace the answer: a status and body, or raw bytes served with 200. */
  setOverride(o: { status?: number; body?: Buffer | string } | undefined): void;
  stop(): Promise<void>;
}

/** Starts the service with one full graph per architecture (Go names: amd64, arm64, multi). */
export async function startGraphServer(graphs: Record<string, GraphSpec>): Promise<GraphServer> {
  const log: GraphRequestLog[] = [];
  let override: { status?: number; body?: Buffer | string } | undefined;
  const sockets = new Set<Socket>();
  const answer = (
    res: ServerResponse,
    entry: GraphRequestLog,
    status: number,
    body: string | Buffer,
  ): void => {
    entry.status = status;
    log.push(entry);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: GraphRequestLog = {
      path: url.pathname,
      channel: url.searchParams.get('channel'),
      arch: url.searchParams.get('arch'),
      accept: req.headers.accept,
      status: 0,
    };
    if (override !== undefined) return answer(res, entry, override.status ?? 200, override.body ?? '');
    if (req.method !== 'GET' || url.pathname !== GRAPH_PATH)
      return answer(res, entry, 404, '{"kind":"not_found"}');
    if (!(req.headers.accept ?? '').includes('application/json')) {
      return answer(res, entry, 406, '{"kind":"invalid_content_type"}');
    }
    const spec = graphs[entry.arch ?? 'amd64'];
    if (spec === undefined)
      return answer(res, entry, 400, '{"kind":"invalid_params","value":"unknown arch"}');
    return answer(
      res,
      entry,
      200,
      JSON.stringify(graphDocument(spec, entry.arch ?? 'amd64', entry.channel ?? undefined)),
    );
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    endpoint: `${url}${GRAPH_PATH}`,
    log,
    setOverride(o) {
      override = o;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
