/**
 * The Cincinnati update graph as the OpenShift update service serves it
 * (`/api/upgrades_info/v1/graph`), parsed strictly:
 *
 * ```json
 * { "nodes": [{ "version": "4.18.7", "payload": "quay.io/…@sha256:…",
 *               "metadata": { "io.openshift.upgrades.graph.release.channels": "fast-4.18,stable-4.18", … } }],
 *   "edges": [[0, 1]],
 *   "conditionalEdges": [{ "edges": [{ "from": "4.18.6", "to": "4.18.7" }],
 *                          "risks": [{ "name": "…", "message": "…", "url": "https://…", "matchingRules": [{ "type": "PromQL", … }] }] }] }
 * ```
 *
 * Duplicate JSON keys, unknown fields (but inside `matchingRules`, whose shape depends
 * on its `type`), a node without a semantic version or a payload pinned by digest, two
 * nodes of one version, and an edge to a node that does not exist are errors.
 */
import semver from 'semver';
import { BaleError } from '../../errors.js';
import {
  isJsonObject,
  parseStrictJson,
  StrictJsonError,
  type JsonValue,
} from '../../signature/strict-json.js';
import { parsePinnedReference, type PinnedReference } from '../pinned-reference.js';

export const CHANNELS_METADATA_KEY = 'io.openshift.upgrades.graph.release.channels';

export interface GraphNode {
  version: string;
  /** The release image, pinned by digest. */
  payload: string;
  pinned: PinnedReference;
  metadata: Record<string, string>;
  /** From the channels metadata key (comma-separated in the graph). */
  channels: string[];
}

export interface GraphRisk {
  name: string;
  message: string;
  url: string;
  /** Kept as served (`type` is `Always`, `PromQL`, …). */
  matchingRules: { type: string; [key: string]: unknown }[];
}

export interface ConditionalEdge {
  from: string;
  to: string;
  risks: GraphRisk[];
}

export interface UpdateGraph {
  nodes: GraphNode[];
  /** Unconditional edges, as versions. */
  edges: { from: string; to: string }[];
  conditionalEdges: ConditionalEdge[];
  /** Where it came from (URL or file), for messages. */
  source: string;
}

class Walk {
  constructor(readonly source: string) {}

  fail(path: string, what: string): BaleError {
    return new BaleError('E_GRAPH_INVALID', `update graph ${this.source}: ${path}: ${what}`, {
      hint: 'This is not an update graph as the OpenShift update service serves it; check the URL or file.',
      details: { source: this.source, field: path },
    });
  }

  object(v: JsonValue | undefined, path: string, allowed: readonly string[]): { [k: string]: JsonValue } {
    if (!isJsonObject(v)) throw this.fail(path, 'must be an object');
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) throw this.fail(`${path}.${k}`, 'unknown field');
    }
    return v;
  }

  array(v: JsonValue | undefined, path: string, optional = false): JsonValue[] {
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) throw this.fail(path, 'must be a list');
    return v;
  }

  string(v: JsonValue | undefined, path: string): string {
    if (typeof v !== 'string' || v === '') throw this.fail(path, 'must be a non-empty string');
    return v;
  }
}

function parseNode(w: Walk, v: JsonValue, path: string): GraphNode {
  const o = w.object(v, path, ['version', 'payload', 'metadata']);
  const version = w.string(o['version'], `${path}.version`);
  if (semver.valid(version) !== version)
    throw w.fail(`${path}.version`, `${JSON.stringify(version)} is not a version`);
  const payload = w.string(o['payload'], `${path}.payload`);
  const pinned = parsePinnedReference(payload);
  if (pinned === undefined) {
    throw w.fail(`${path}.payload`, `${JSON.stringify(payload)} is not an image reference pinned by digest`);
  }
  const metadata: Record<string, string> = {};
  if (o['metadata'] !== undefined) {
    const m = o['metadata'];
    if (!isJsonObject(m)) throw w.fail(`${path}.metadata`, 'must be an object');
    for (const [k, val] of Object.entries(m)) metadata[k] = w.string(val, `${path}.metadata.${k}`);
  }
  const channels = (metadata[CHANNELS_METADATA_KEY] ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  return { version, payload, pinned, metadata, channels };
}

function parseRisk(w: Walk, v: JsonValue, path: string): GraphRisk {
  const o = w.object(v, path, ['name', 'message', 'url', 'matchingRules']);
  const rules = w.array(o['matchingRules'], `${path}.matchingRules`).map((r, i) => {
    const rp = `${path}.matchingRules[${i}]`;
    if (!isJsonObject(r)) throw w.fail(rp, 'must be an object');
    return { ...r, type: w.string(r['type'], `${rp}.type`) };
  });
  const url = w.string(o['url'], `${path}.url`);
  if (!/^https?:\/\//.test(url)) throw w.fail(`${path}.url`, `${JSON.stringify(url)} is not an http(s) URL`);
  return {
    name: w.string(o['name'], `${path}.name`),
    message: w.string(o['message'], `${path}.message`),
    url,
    matchingRules: rules,
  };
}

/** Parses graph JSON bytes; `source` (URL or file) names it in errors. Throws E_GRAPH_INVALID. */
export function parseUpdateGraph(bytes: Uint8Array | string, source: string): UpdateGraph {
  const w = new Walk(source);
  let json: JsonValue;
  try {
    json = parseStrictJson(bytes);
  } catch (err) {
    if (!(err instanceof StrictJsonError)) throw err;
    throw w.fail('(document)', `not valid JSON: ${err.message}`);
  }
  const top = w.object(json, '(document)', ['version', 'nodes', 'edges', 'conditionalEdges']);
  if (top['version'] !== undefined && typeof top['version'] !== 'number')
    throw w.fail('version', 'must be a number');
  const nodes = w.array(top['nodes'], 'nodes').map((n, i) => parseNode(w, n, `nodes[${i}]`));
  const byVersion = new Map<string, number>();
  nodes.forEach((n, i) => {
    const before = byVersion.get(n.version);
    if (before !== undefined) throw w.fail(`nodes[${i}].version`, `${n.version} is also nodes[${before}]`);
    byVersion.set(n.version, i);
  });
  const edges = w.array(top['edges'], 'edges', true).map((e, i) => {
    const path = `edges[${i}]`;
    if (!Array.isArray(e) || e.length !== 2) throw w.fail(path, 'must be a pair [from, to] of node indexes');
    const [a, b] = e.map((x) => (typeof x === 'number' && Number.isInteger(x) ? nodes[x] : undefined));
    if (a === undefined || b === undefined)
      throw w.fail(path, `${JSON.stringify(e)} names a node that does not exist`);
    return { from: a.version, to: b.version };
  });
  const conditionalEdges: ConditionalEdge[] = [];
  w.array(top['conditionalEdges'], 'conditionalEdges', true).forEach((c, i) => {
    const path = `conditionalEdges[${i}]`;
    const o = w.object(c, path, ['edges', 'risks']);
    const risks = w.array(o['risks'], `${path}.risks`).map((r, j) => parseRisk(w, r, `${path}.risks[${j}]`));
    if (risks.length === 0) throw w.fail(`${path}.risks`, 'is empty: a conditional edge names its risks');
    w.array(o['edges'], `${path}.edges`).forEach((e, j) => {
      const ep = `${path}.edges[${j}]`;
      const eo = w.object(e, ep, ['from', 'to']);
      const from = w.string(eo['from'], `${ep}.from`);
      const to = w.string(eo['to'], `${ep}.to`);
      for (const [k, v] of [
        ['from', from],
        ['to', to],
      ] as const) {
        if (!byVersion.has(v)) throw w.fail(`${ep}.${k}`, `${v} is not a node of the graph`);
      }
      conditionalEdges.push({ from, to, risks });
    });
  });
  return { nodes, edges, conditionalEdges, source };
}
