/**
 * Which releases pack carries (src/workflows/pack/plan-releases.ts): channels resolved
 * against an update graph (a --graph-file, or the loopback update service of
 * fixtures/graph-server.ts per architecture), hops and risks said before any download,
 * releases deduplicated by payload digest, each graph document kept byte for byte.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  graphDocument,
  payloadDigest,
  startGraphServer,
  type GraphSpec,
} from '../../../fixtures/graph-server.js';
import type { ChannelRequest } from '../../../src/imageset/image-set.js';
import type { Progress } from '../../../src/progress.js';
import type { PackContext } from '../../../src/workflows/pack/context.js';
import { planReleases } from '../../../src/workflows/pack/plan-releases.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

const CHANNEL = 'stable-4.16';
const REPO = 'quay.io/openshift-release-dev/ocp-release';

const SPEC: GraphSpec = {
  releases: { '4.16.1': [CHANNEL], '4.16.2': [CHANNEL], '4.16.3': [CHANNEL], '4.16.4': [CHANNEL] },
  edges: [
    ['4.16.1', '4.16.2'],
    ['4.16.2', '4.16.4'],
    ['4.16.1', '4.16.3'],
  ],
  conditionalEdges: [
    {
      edges: [['4.16.3', '4.16.4']],
      risks: [{ name: 'SlowEtcd', message: 'etcd may be slow', url: 'https://example.invalid/r' }],
    },
  ],
};

function recorder(): Progress & { infos: string[]; warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    infos,
    warnings,
    phase() {},
    advance() {},
    info: (m) => void infos.push(m),
    warn: (m) => void warnings.push(m),
  };
}

const channel = (extra: Partial<ChannelRequest> = {}): ChannelRequest => ({
  name: CHANNEL,
  type: 'ocp',
  shortestPath: false,
  full: false,
  ...extra,
});

function ctx(o: {
  channels?: ChannelRequest[];
  architectures?: string[];
  releases?: string[];
  graphFile?: string;
  graphUrl?: string;
  allowConditionalEdges?: boolean;
  progress?: Progress;
}): PackContext {
  return {
    o: {
      graphFile: o.graphFile,
      graphUrl: o.graphUrl,
      env: {},
      allowConditionalEdges: o.allowConditionalEdges,
    },
    input: {
      channels: o.channels ?? [],
      architectures: o.architectures ?? ['amd64'],
      releases: o.releases ?? [],
    },
    progress: o.progress ?? recorder(),
  } as unknown as PackContext;
}

let tmp: string;
let graphFile: string;
beforeAll(async () => {
  tmp = await makeTempDir('bale-plan-releases-');
  graphFile = join(tmp, 'graph.json');
  await writeFile(graphFile, JSON.stringify(graphDocument(SPEC, 'amd64', CHANNEL)));
});
afterAll(async () => {
  await removeTempDir(tmp);
});

describe('planReleases', () => {
  it('only releases named explicitly: those, each once, and no graph', async () => {
    const a = `${REPO}@${payloadDigest('4.16.1', 'amd64')}`;
    const plan = await planReleases(ctx({ releases: [a, a, `${REPO}:4.16.2-x86_64`] }));
    expect(plan).toEqual({ releases: [{ pullspec: a }, { pullspec: `${REPO}:4.16.2-x86_64` }], graphs: [] });
  });

  it('the shortest update path, said hop by hop, and the graph kept byte for byte', async () => {
    const progress = recorder();
    const plan = await planReleases(
      ctx({
        channels: [channel({ minVersion: '4.16.1', maxVersion: '4.16.4', shortestPath: true })],
        graphFile,
        progress,
      }),
    );
    expect(plan.releases).toEqual(
      ['4.16.1', '4.16.2', '4.16.4'].map((v) => ({
        pullspec: `${REPO}@${payloadDigest(v, 'amd64')}`,
        version: v,
        arch: 'amd64',
      })),
    );
    const bytes = await readFile(graphFile);
    expect(plan.graphs).toEqual([
      {
        path: `graph/${CHANNEL}-amd64.json`,
        channel: CHANNEL,
        arch: 'amd64',
        source: expect.stringContaining('graph.json'),
        bytes,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        releases: ['4.16.1', '4.16.2', '4.16.4'],
      },
    ]);
    expect(progress.infos[0]).toMatch(
      new RegExp(
        `^${CHANNEL} \\(amd64\\) from .*graph\\.json: update path 4\\.16\\.1, 4\\.16\\.2, 4\\.16\\.4$`,
      ),
    );
    expect(progress.infos.slice(1)).toEqual(['  4.16.1 → 4.16.2', '  4.16.2 → 4.16.4']);
    expect(progress.warnings).toEqual([]);
  });

  it('a release named explicitly that the graph also chose is carried once', async () => {
    const same = `${REPO}@${payloadDigest('4.16.4', 'amd64')}`;
    const plan = await planReleases(
      ctx({
        channels: [channel({ minVersion: '4.16.2', maxVersion: '4.16.4', shortestPath: true })],
        releases: [same],
        graphFile,
      }),
    );
    expect(plan.releases.map((r) => r.version)).toEqual(['4.16.2', '4.16.4']);
  });

  it('a conditional hop only when allowed, its risk said as a warning', async () => {
    const only = { ...SPEC, edges: [['4.16.1', '4.16.3']] as [string, string][] };
    const file = join(tmp, 'conditional.json');
    await writeFile(file, JSON.stringify(graphDocument(only, 'amd64', CHANNEL)));
    const ch = channel({ minVersion: '4.16.3', maxVersion: '4.16.4', shortestPath: true });
    await expect(planReleases(ctx({ channels: [ch], graphFile: file }))).rejects.toMatchObject({
      code: 'E_NO_UPDATE_PATH',
    });
    const progress = recorder();
    const plan = await planReleases(
      ctx({ channels: [ch], graphFile: file, allowConditionalEdges: true, progress }),
    );
    expect(plan.releases.map((r) => r.version)).toEqual(['4.16.3', '4.16.4']);
    expect(progress.infos).toContain('  4.16.3 → 4.16.4 (conditional update)');
    expect(progress.warnings).toEqual([
      `${CHANNEL} (amd64): accepted risk SlowEtcd: etcd may be slow (https://example.invalid/r)`,
    ]);
  });

  it('asks the update service once per channel and architecture; a channel unfit for a file name is refused', async () => {
    const server = await startGraphServer({ amd64: SPEC, arm64: SPEC });
    try {
      const plan = await planReleases(
        ctx({
          channels: [channel({ full: true })],
          architectures: ['amd64', 'arm64'],
          graphUrl: server.endpoint,
        }),
      );
      expect(server.log.map((l) => [l.channel, l.arch])).toEqual([
        [CHANNEL, 'amd64'],
        [CHANNEL, 'arm64'],
      ]);
      expect(plan.graphs.map((g) => g.path)).toEqual([
        `graph/${CHANNEL}-amd64.json`,
        `graph/${CHANNEL}-arm64.json`,
      ]);
      expect(new Set(plan.releases.map((r) => r.pullspec)).size).toBe(8); // payload digests differ per arch
      const bad = {
        ...SPEC,
        releases: Object.fromEntries(Object.keys(SPEC.releases).map((v) => [v, ['../x']])),
      };
      const badFile = join(tmp, 'bad.json');
      await writeFile(badFile, JSON.stringify(graphDocument(bad, 'amd64', '../x')));
      await expect(
        planReleases(ctx({ channels: [channel({ name: '../x', full: true })], graphFile: badFile })),
      ).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: 'channel "../x" (amd64) cannot name a file in the bundle',
      });
    } finally {
      await server.stop();
    }
  });
});
