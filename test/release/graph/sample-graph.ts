import type { GraphSpec } from '../../helpers/graph-server.js';

const S18 = ['stable-4.18', 'fast-4.18'];

/**
 * A graph shaped like a real 4.16 → 4.18 update path: z-stream hops, minor hops from
 * one z-stream to the next minor, a release no edge reaches, and conditional edges
 * with risks.
 */
export const SAMPLE_GRAPH: GraphSpec = {
  releases: {
    '4.16.3': S18,
    '4.16.10': S18,
    '4.17.5': S18,
    '4.17.12': S18,
    '4.17.99': S18,
    '4.18.1': S18,
    '4.18.7': S18,
    '4.18.8': S18,
    '4.18.9': S18,
    '4.18.10': ['fast-4.18'],
  },
  edges: [
    ['4.16.3', '4.16.10'],
    ['4.16.10', '4.17.12'],
    ['4.16.10', '4.17.5'],
    ['4.17.5', '4.17.12'],
    ['4.17.5', '4.18.1'],
    ['4.17.12', '4.18.7'],
    ['4.17.12', '4.18.1'],
    ['4.18.1', '4.18.7'],
    ['4.18.7', '4.18.8'],
    ['4.18.9', '4.18.10'],
  ],
  conditionalEdges: [
    {
      edges: [
        ['4.18.7', '4.18.9'],
        ['4.18.8', '4.18.9'],
      ],
      risks: [
        {
          name: 'AzureDefaultVMType',
          message: 'Clusters on Azure with the default VM type may fail to scale.',
          url: 'https://issues.redhat.com/browse/OCPBUGS-0001',
        },
      ],
    },
    {
      edges: [['4.16.3', '4.18.7']],
      risks: [
        {
          name: 'SkipTwoMinors',
          message: 'A shortcut that skips two minors.',
          url: 'https://issues.redhat.com/browse/OCPBUGS-0002',
          matchingRules: [{ type: 'Always' }],
        },
      ],
    },
  ],
};
