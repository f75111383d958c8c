import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { CHANNELS_METADATA_KEY, parseUpdateGraph } from '../../../src/release/graph/update-graph.js';
import { graphDocument } from '../../helpers/graph-server.js';
import { mulberry32 } from '../../helpers/prng.js';
import { SAMPLE_GRAPH } from './sample-graph.js';

const DOC = graphDocument(SAMPLE_GRAPH, 'amd64');
const TEXT = JSON.stringify(DOC);

type Doc = {
  nodes: Record<string, unknown>[];
  edges: unknown[];
  conditionalEdges: Record<string, unknown>[];
};

function damaged(f: (d: Doc) => void): string {
  const d = JSON.parse(TEXT) as Doc;
  f(d);
  return JSON.stringify(d);
}

function failure(text: string): { code: string; message: string } {
  try {
    parseUpdateGraph(text, 'graph.json');
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the parse to fail');
}

describe('parseUpdateGraph', () => {
  it('reads nodes, channels, edges by version and conditional edges with their risks', () => {
    const g = parseUpdateGraph(TEXT, 'graph.json');
    expect(g.nodes).toHaveLength(10);
    const n = g.nodes.find((x) => x.version === '4.18.10')!;
    expect(n.channels).toEqual(['fast-4.18']);
    expect(n.metadata[CHANNELS_METADATA_KEY]).toBe('fast-4.18');
    expect(n.pinned.repository).toBe('openshift-release-dev/ocp-release');
    expect(g.edges).toContainEqual({ from: '4.16.3', to: '4.16.10' });
    expect(g.conditionalEdges).toHaveLength(3);
    expect(g.conditionalEdges[2]).toMatchObject({
      from: '4.16.3',
      to: '4.18.7',
      risks: [{ name: 'SkipTwoMinors', matchingRules: [{ type: 'Always' }] }],
    });
  });

  it('accepts a graph without conditionalEdges (older services)', () => {
    const g = parseUpdateGraph(
      damaged((d) => delete (d as Partial<Doc>).conditionalEdges),
      'graph.json',
    );
    expect(g.conditionalEdges).toEqual([]);
  });

  it.each([
    ['not JSON', '<html>', '(document): not valid JSON'],
    ['a duplicate key', TEXT.replace('{"version":1,', '{"version":1,"version":1,'), 'not valid JSON'],
    [
      'an unknown top-level field',
      damaged((d) => Object.assign(d, { extra: 1 })),
      '(document).extra: unknown field',
    ],
    ['no nodes', damaged((d) => delete (d as Partial<Doc>).nodes), 'nodes: must be a list'],
    [
      'a node without version',
      damaged((d) => delete d.nodes[0]!['version']),
      'nodes[0].version: must be a non-empty string',
    ],
    [
      'a node with a bad version',
      damaged((d) => (d.nodes[0]!['version'] = '4.16')),
      'nodes[0].version: "4.16" is not a version',
    ],
    [
      'a node with a tag payload',
      damaged((d) => (d.nodes[1]!['payload'] = 'quay.io/x/y:4.16.10')),
      'nodes[1].payload: "quay.io/x/y:4.16.10" is not an image reference pinned by digest',
    ],
    ['an unknown node field', damaged((d) => (d.nodes[1]!['size'] = 1)), 'nodes[1].size: unknown field'],
    [
      'metadata that is not strings',
      damaged((d) => ((d.nodes[2]!['metadata'] as Record<string, unknown>)['x'] = 1)),
      'nodes[2].metadata.x: must be a non-empty string',
    ],
    [
      'two nodes of one version',
      damaged((d) => (d.nodes[1]!['version'] = '4.16.3')),
      'nodes[1].version: 4.16.3 is also nodes[0]',
    ],
    [
      'an edge out of range',
      damaged((d) => d.edges.push([0, 99])),
      'edges[10]: [0,99] names a node that does not exist',
    ],
    ['an edge that is not a pair', damaged((d) => d.edges.push([0])), 'edges[10]: must be a pair'],
    [
      'a conditional edge to an unknown version',
      damaged((d) => ((d.conditionalEdges[0]!['edges'] as { to: string }[])[0]!.to = '9.9.9')),
      'conditionalEdges[0].edges[0].to: 9.9.9 is not a node',
    ],
    [
      'a conditional edge without risks',
      damaged((d) => (d.conditionalEdges[0]!['risks'] = [])),
      'conditionalEdges[0].risks: is empty',
    ],
    [
      'a risk without name',
      damaged((d) => delete (d.conditionalEdges[0]!['risks'] as Record<string, unknown>[])[0]!['name']),
      'conditionalEdges[0].risks[0].name: must be a non-empty string',
    ],
    [
      'a risk URL that is not http',
      damaged(
        (d) =>
          ((d.conditionalEdges[0]!['risks'] as Record<string, unknown>[])[0]!['url'] = 'javascript:alert(1)'),
      ),
      'risks[0].url: "javascript:alert(1)" is not an http(s) URL',
    ],
    [
      'a matching rule without type',
      damaged(
        (d) => ((d.conditionalEdges[0]!['risks'] as Record<string, unknown>[])[0]!['matchingRules'] = [{}]),
      ),
      'matchingRules[0].type: must be a non-empty string',
    ],
  ])('refuses %s', (_name, text, expected) => {
    const e = failure(text);
    expect(e.code).toBe('E_GRAPH_INVALID');
    expect(e.message).toContain('update graph graph.json: ');
    expect(e.message).toContain(expected);
  });

  it('hostile bytes: truncations and seeded byte flips give a graph or E_GRAPH_INVALID, never another error', () => {
    const bytes = Buffer.from(TEXT);
    const rand = mulberry32(7);
    const inputs: Buffer[] = [];
    for (let n = 0; n < bytes.length; n += 7) inputs.push(bytes.subarray(0, n));
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 2; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b);
    }
    let refused = 0;
    for (const input of inputs) {
      try {
        parseUpdateGraph(input, 'graph.json');
      } catch (err) {
        expect(isBaleError(err, 'E_GRAPH_INVALID'), String(err)).toBe(true);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(inputs.length / 2);
  });
});
