import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { resolveChannel, type ChannelSelection } from '../../../src/release/graph/resolve-channel.js';
import { parseUpdateGraph, type UpdateGraph } from '../../../src/release/graph/update-graph.js';
import { graphDocument, payloadDigest, type GraphSpec } from '../../helpers/graph-server.js';
import { SAMPLE_GRAPH } from './sample-graph.js';

function graphOf(spec: GraphSpec, channel?: string): UpdateGraph {
  return parseUpdateGraph(JSON.stringify(graphDocument(spec, 'amd64', channel)), 'test-graph.json');
}

const GRAPH = graphOf(SAMPLE_GRAPH);

function sel(over: Partial<ChannelSelection>): ChannelSelection {
  return { channel: 'stable-4.18', shortestPath: false, full: false, ...over };
}

function failure(graph: UpdateGraph, s: ChannelSelection): { code: string; message: string; hint?: string } {
  try {
    resolveChannel(graph, s);
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected no path');
}

describe('resolveChannel', () => {
  it('shortestPath: BFS over unconditional edges, with the payloads pinned', () => {
    const r = resolveChannel(GRAPH, sel({ minVersion: '4.16.3', maxVersion: '4.18.7', shortestPath: true }));
    expect(r.mode).toBe('shortest-path');
    expect(r.releases.map((n) => n.version)).toEqual(['4.16.3', '4.16.10', '4.17.12', '4.18.7']);
    expect(r.hops.map((h) => `${h.from}->${h.to}`)).toEqual([
      '4.16.3->4.16.10',
      '4.16.10->4.17.12',
      '4.17.12->4.18.7',
    ]);
    expect(r.hops.every((h) => !h.conditional)).toBe(true);
    expect(r.risks).toEqual([]);
    expect(r.releases[3]?.pinned.digest).toBe(payloadDigest('4.18.7', 'amd64'));
  });

  it('prefers unconditional edges even when conditional ones are allowed and shorter', () => {
    const r = resolveChannel(
      GRAPH,
      sel({ minVersion: '4.16.3', maxVersion: '4.18.7', shortestPath: true, allowConditionalEdges: true }),
    );
    expect(r.hops).toHaveLength(3);
    expect(r.risks).toEqual([]);
  });

  it('is deterministic between equally short paths, whatever the order of the edges in the document', () => {
    const shuffled: GraphSpec = { ...SAMPLE_GRAPH, edges: [...SAMPLE_GRAPH.edges].reverse() };
    const a = resolveChannel(GRAPH, sel({ minVersion: '4.16.10', maxVersion: '4.18.1', shortestPath: true }));
    const b = resolveChannel(
      graphOf(shuffled),
      sel({ minVersion: '4.16.10', maxVersion: '4.18.1', shortestPath: true }),
    );
    expect(a.releases.map((n) => n.version)).toEqual(['4.16.10', '4.17.5', '4.18.1']);
    expect(b.releases.map((n) => n.version)).toEqual(a.releases.map((n) => n.version));
  });

  it('refuses a path that needs a conditional edge unless allowed, naming the risks', () => {
    const s = sel({ minVersion: '4.18.7', maxVersion: '4.18.9', shortestPath: true });
    const e = failure(GRAPH, s);
    expect(e.code).toBe('E_NO_UPDATE_PATH');
    expect(e.message).toContain('from 4.18.7 to 4.18.9 in channel stable-4.18 take conditional edges');
    expect(e.message).toContain('AzureDefaultVMType');
    expect(e.hint).toContain('--allow-conditional-edges');

    const r = resolveChannel(GRAPH, { ...s, allowConditionalEdges: true });
    expect(r.releases.map((n) => n.version)).toEqual(['4.18.7', '4.18.9']);
    expect(r.hops).toEqual([{ from: '4.18.7', to: '4.18.9', conditional: true, risks: r.risks }]);
    expect(r.risks.map((k) => [k.name, k.url])).toEqual([
      ['AzureDefaultVMType', 'https://issues.redhat.com/browse/OCPBUGS-0001'],
    ]);
    expect(r.risks[0]?.message).toContain('may fail to scale');
  });

  it('no path is an error naming both versions and the channel, never the two ends alone', () => {
    const e = failure(
      GRAPH,
      sel({ minVersion: '4.16.3', maxVersion: '4.17.99', shortestPath: true, allowConditionalEdges: true }),
    );
    expect(e.code).toBe('E_NO_UPDATE_PATH');
    expect(e.message).toContain('no update path from 4.16.3 to 4.17.99 in channel stable-4.18');
  });

  it('without shortestPath: every release of the channel in [min, max], ascending', () => {
    const r = resolveChannel(GRAPH, sel({ minVersion: '4.17.5', maxVersion: '4.18.7' }));
    expect(r.mode).toBe('range');
    expect(r.releases.map((n) => n.version)).toEqual(['4.17.5', '4.17.12', '4.17.99', '4.18.1', '4.18.7']);
    expect(r.hops).toEqual([]);
  });

  it('filters by channel: a release only in fast-4.18 is not in stable-4.18', () => {
    expect(resolveChannel(GRAPH, sel({ full: true })).releases.map((n) => n.version)).not.toContain(
      '4.18.10',
    );
    const fast = resolveChannel(GRAPH, sel({ channel: 'fast-4.18', full: true }));
    expect(fast.releases.at(-1)?.version).toBe('4.18.10');
    expect(fast.releases).toHaveLength(10);
  });

  it('defaults: the head alone without bounds; every release with full; from the lowest with shortestPath', () => {
    expect(resolveChannel(GRAPH, sel({})).releases.map((n) => n.version)).toEqual(['4.18.9']);
    expect(resolveChannel(GRAPH, sel({ full: true })).releases).toHaveLength(9);
    expect(resolveChannel(GRAPH, sel({ minVersion: '4.18.7' })).releases.map((n) => n.version)).toEqual([
      '4.18.7',
      '4.18.8',
      '4.18.9',
    ]);
    const p = resolveChannel(GRAPH, sel({ maxVersion: '4.18.1', shortestPath: true }));
    expect(p.minVersion).toBe('4.16.3');
    expect(p.releases.map((n) => n.version)).toEqual(['4.16.3', '4.16.10', '4.17.5', '4.18.1']);
  });

  it('min equal to max is that one release', () => {
    const r = resolveChannel(GRAPH, sel({ minVersion: '4.18.1', maxVersion: '4.18.1', shortestPath: true }));
    expect(r.releases.map((n) => n.version)).toEqual(['4.18.1']);
    expect(r.hops).toEqual([]);
  });

  it('works on a graph the service filtered by channel', () => {
    const r = resolveChannel(
      graphOf(SAMPLE_GRAPH, 'stable-4.18'),
      sel({ minVersion: '4.16.3', maxVersion: '4.18.7', shortestPath: true }),
    );
    expect(r.releases).toHaveLength(4);
  });

  it.each([
    [
      sel({ channel: 'stable-4.99' }),
      'channel stable-4.99 has no releases in the update graph test-graph.json',
    ],
    [
      sel({ minVersion: '4.16.4', maxVersion: '4.18.7' }),
      'minVersion 4.16.4 is not a release of channel stable-4.18',
    ],
    [sel({ maxVersion: '4.18.10' }), 'maxVersion 4.18.10 is not a release of channel stable-4.18'],
    [sel({ minVersion: '4.18.7', maxVersion: '4.17.5' }), 'minVersion 4.18.7 is above maxVersion 4.17.5'],
  ])('refuses %j', (s, expected) => {
    const e = failure(GRAPH, s);
    expect(e.code).toBe('E_NO_UPDATE_PATH');
    expect(e.message).toContain(expected);
  });
});
