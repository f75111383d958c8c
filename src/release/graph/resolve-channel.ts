/**
 * Which releases of a channel to carry, from an update graph:
 *
 * - `shortestPath`: a breadth-first search from minVersion to maxVersion over the
 *   channel's unconditional edges, neighbours visited in ascending version order, so
 *   the same graph always gives the same path. Conditional edges are used only when
 *   allowed and only when no path of unconditional edges exists; every risk of a
 *   conditional edge taken is returned so it can be shown.
 * - otherwise: every release of the channel from minVersion to maxVersion.
 *
 * Bounds default to the channel's head (maxVersion), and minVersion to the lowest
 * release of the channel with `full` or `shortestPath`, else to maxVersion (the head
 * only, as oc-mirror carries by default). No path, an unknown version or an empty
 * channel is E_NO_UPDATE_PATH: never a fallback to carrying the two ends alone.
 */
import semver from 'semver';
import { BaleError } from '../../errors.js';
import type { GraphNode, GraphRisk, UpdateGraph } from './update-graph.js';

export interface ChannelSelection {
  channel: string;
  minVersion?: string;
  maxVersion?: string;
  shortestPath: boolean;
  full: boolean;
  /** `--allow-conditional-edges`. */
  allowConditionalEdges?: boolean;
}

export interface Hop {
  from: string;
  to: string;
  conditional: boolean;
  /** The risks accepted by taking this hop (empty when unconditional). */
  risks: GraphRisk[];
}

export interface ResolvedChannel {
  channel: string;
  mode: 'shortest-path' | 'range';
  minVersion: string;
  maxVersion: string;
  /** The releases to carry, in update order (ascending for a range). */
  releases: GraphNode[];
  /** The update path (shortest-path mode; empty for a range). */
  hops: Hop[];
  /** Every distinct risk on the path, by name. */
  risks: GraphRisk[];
}

function noPath(message: string, hint: string, details: Record<string, unknown>): BaleError {
  return new BaleError('E_NO_UPDATE_PATH', message, { hint, details });
}

interface Edge {
  to: string;
  risks: GraphRisk[] | undefined;
}

function adjacency(graph: UpdateGraph, inChannel: Set<string>, conditional: boolean): Map<string, Edge[]> {
  const adj = new Map<string, Edge[]>();
  const add = (from: string, to: string, risks: GraphRisk[] | undefined): void => {
    if (!inChannel.has(from) || !inChannel.has(to)) return;
    const list = adj.get(from) ?? [];
    if (list.some((e) => e.to === to)) return; // an unconditional edge wins over a conditional one
    list.push({ to, risks });
    adj.set(from, list);
  };
  for (const e of graph.edges) add(e.from, e.to, undefined);
  if (conditional) for (const e of graph.conditionalEdges) add(e.from, e.to, e.risks);
  for (const list of adj.values()) list.sort((a, b) => semver.compare(a.to, b.to));
  return adj;
}

function bfs(adj: Map<string, Edge[]>, from: string, to: string): Hop[] | undefined {
  const parent = new Map<string, { from: string; edge: Edge }>();
  const seen = new Set([from]);
  let frontier = [from];
  while (frontier.length > 0 && !seen.has(to)) {
    const next: string[] = [];
    for (const v of frontier) {
      for (const edge of adj.get(v) ?? []) {
        if (seen.has(edge.to)) continue;
        seen.add(edge.to);
        parent.set(edge.to, { from: v, edge });
        next.push(edge.to);
      }
    }
    frontier = next;
  }
  if (!seen.has(to)) return undefined;
  const hops: Hop[] = [];
  for (let v = to; v !== from;) {
    const p = parent.get(v)!;
    hops.unshift({ from: p.from, to: v, conditional: p.edge.risks !== undefined, risks: p.edge.risks ?? [] });
    v = p.from;
  }
  return hops;
}

function distinctRisks(hops: Hop[]): GraphRisk[] {
  const byName = new Map<string, GraphRisk>();
  for (const h of hops) for (const r of h.risks) if (!byName.has(r.name)) byName.set(r.name, r);
  return [...byName.values()];
}

/** Resolves one channel selection against a graph. Throws E_NO_UPDATE_PATH. */
export function resolveChannel(graph: UpdateGraph, sel: ChannelSelection): ResolvedChannel {
  const { channel } = sel;
  const nodes = graph.nodes
    .filter((n) => n.channels.includes(channel))
    .sort((a, b) => semver.compare(a.version, b.version));
  const details = { channel, graph: graph.source };
  if (nodes.length === 0) {
    throw noPath(
      `channel ${channel} has no releases in the update graph ${graph.source}`,
      'Check the channel name and the architecture; a graph saved for another channel does not list this one.',
      details,
    );
  }
  const byVersion = new Map(nodes.map((n) => [n.version, n]));
  for (const [field, v] of [
    ['minVersion', sel.minVersion],
    ['maxVersion', sel.maxVersion],
  ] as const) {
    if (v !== undefined && !byVersion.has(v)) {
      throw noPath(
        `${field} ${v} is not a release of channel ${channel} in the update graph ${graph.source}`,
        `Releases of ${channel} run from ${nodes[0]!.version} to ${nodes[nodes.length - 1]!.version}; pick versions the channel lists.`,
        { ...details, version: v },
      );
    }
  }
  const maxVersion = sel.maxVersion ?? nodes[nodes.length - 1]!.version;
  const minVersion = sel.minVersion ?? (sel.full || sel.shortestPath ? nodes[0]!.version : maxVersion);
  if (semver.gt(minVersion, maxVersion)) {
    throw noPath(
      `minVersion ${minVersion} is above maxVersion ${maxVersion} in channel ${channel}`,
      'Swap them.',
      details,
    );
  }

  if (!sel.shortestPath) {
    const releases = nodes.filter(
      (n) => semver.gte(n.version, minVersion) && semver.lte(n.version, maxVersion),
    );
    return { channel, mode: 'range', minVersion, maxVersion, releases, hops: [], risks: [] };
  }

  const inChannel = new Set(byVersion.keys());
  let hops = bfs(adjacency(graph, inChannel, false), minVersion, maxVersion);
  if (hops === undefined) {
    const conditional = bfs(adjacency(graph, inChannel, true), minVersion, maxVersion);
    if (conditional === undefined) {
      throw noPath(
        `no update path from ${minVersion} to ${maxVersion} in channel ${channel} (update graph ${graph.source})`,
        'Pick versions the graph connects (another minVersion or maxVersion, or another channel); bale does not carry the two ends alone.',
        { ...details, minVersion, maxVersion },
      );
    }
    if (sel.allowConditionalEdges !== true) {
      const names = distinctRisks(conditional).map((r) => r.name);
      throw noPath(
        `the only update paths from ${minVersion} to ${maxVersion} in channel ${channel} take conditional edges (risks: ${names.join(', ')})`,
        'Read the risks (their URLs are in the graph); if they do not apply to your clusters, run again with --allow-conditional-edges.',
        { ...details, minVersion, maxVersion, risks: names },
      );
    }
    hops = conditional;
  }
  const releases = [byVersion.get(minVersion)!, ...hops.map((h) => byVersion.get(h.to)!)];
  return {
    channel,
    mode: 'shortest-path',
    minVersion,
    maxVersion,
    releases,
    hops,
    risks: distinctRisks(hops),
  };
}
