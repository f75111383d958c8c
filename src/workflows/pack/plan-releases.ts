/**
 * Phase 0b: which releases to carry. Every channel of the image set is resolved, for
 * every architecture, against an update graph (`--graph-file`, else the update service
 * at `--graph-url` / UPDATE_URL_OVERRIDE / the public endpoint): the shortest update
 * path with `shortestPath`, else every release of the channel in the range. Every hop
 * and every risk accepted is reported before anything is downloaded. Releases are
 * deduplicated by payload digest; the releases named explicitly come after. Each graph
 * document used is kept, byte for byte, to be carried in the bundle.
 */
import { sha256Hex } from '../../digest.js';
import { BaleError } from '../../errors.js';
import type { ChannelRequest } from '../../imageset/image-set.js';
import { formatReference, parseReference } from '../../registry/reference.js';
import {
  fetchUpdateGraph,
  readUpdateGraphFile,
  resolveChannel,
  type FetchedGraph,
  type ResolvedChannel,
} from '../../release/graph/index.js';
import type { PackContext } from './context.js';

/** An update-graph document used to choose releases, carried as `graph/<channel>-<arch>.json`. */
export interface PlannedGraph {
  path: string;
  channel: string;
  /** Go naming, as asked of the service. */
  arch: string;
  source: string;
  bytes: Buffer;
  sha256: string;
  /** Versions chosen from it, in update order. */
  releases: string[];
}

export interface PlannedRelease {
  /** The pullspec to read (pinned by digest when it comes from a graph). */
  pullspec: string;
  /** The version the graph says (undefined for a release named explicitly). */
  version?: string;
  /** Go architecture the graph was asked for. */
  arch?: string;
}

export interface ReleasePlan {
  releases: PlannedRelease[];
  graphs: PlannedGraph[];
}

/** A file name part: what the graph path is built from must stay one safe segment. */
const SAFE = /^[A-Za-z0-9._-]+$/;

export async function planReleases(ctx: PackContext): Promise<ReleasePlan> {
  const { input, progress } = ctx;
  const plan: ReleasePlan = { releases: [], graphs: [] };
  const seen = new Set<string>();
  const add = (r: PlannedRelease): void => {
    const ref = parseReference(r.pullspec);
    const key = ref.digest ?? formatReference(ref);
    if (seen.has(key)) return;
    seen.add(key);
    plan.releases.push(r);
  };
  if (input.channels.length > 0) progress.phase('update graph');
  for (const ch of input.channels) {
    for (const arch of input.architectures) {
      ctx.signal?.throwIfAborted();
      const fetched = await readGraph(ctx, ch, arch);
      const resolved = resolveChannel(fetched.graph, {
        channel: ch.name,
        ...(ch.minVersion !== undefined ? { minVersion: ch.minVersion } : {}),
        ...(ch.maxVersion !== undefined ? { maxVersion: ch.maxVersion } : {}),
        shortestPath: ch.shortestPath,
        full: ch.full,
        allowConditionalEdges: Boolean(ctx.o.allowConditionalEdges),
      });
      report(ctx, resolved, arch, fetched.source);
      for (const node of resolved.releases) add({ pullspec: node.payload, version: node.version, arch });
      plan.graphs.push(plannedGraph(ch.name, arch, fetched, resolved));
    }
  }
  for (const pullspec of input.releases) add({ pullspec });
  return plan;
}

async function readGraph(ctx: PackContext, ch: ChannelRequest, arch: string): Promise<FetchedGraph> {
  const { o } = ctx;
  if (o.graphFile !== undefined) return readUpdateGraphFile(o.graphFile);
  return fetchUpdateGraph({
    channel: ch.name,
    arch,
    ...(o.graphUrl !== undefined ? { graphUrl: o.graphUrl } : {}),
    env: o.env,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/** The plan, said before any download: each hop (or the range), each risk accepted. */
function report(ctx: PackContext, r: ResolvedChannel, arch: string, source: string): void {
  const { progress } = ctx;
  const versions = r.releases.map((n) => n.version);
  progress.info(
    `${r.channel} (${arch}) from ${source}: ${r.mode === 'shortest-path' ? 'update path' : 'releases'} ${versions.join(', ')}`,
  );
  for (const hop of r.hops) {
    progress.info(`  ${hop.from} → ${hop.to}${hop.conditional ? ' (conditional update)' : ''}`);
  }
  for (const risk of r.risks) {
    progress.warn(`${r.channel} (${arch}): accepted risk ${risk.name}: ${risk.message} (${risk.url})`);
  }
}

function plannedGraph(
  channel: string,
  arch: string,
  fetched: FetchedGraph,
  r: ResolvedChannel,
): PlannedGraph {
  if (!SAFE.test(channel) || !SAFE.test(arch)) {
    throw new BaleError(
      'E_CONFIG',
      `channel ${JSON.stringify(channel)} (${arch}) cannot name a file in the bundle`,
      {
        hint: 'Channel names are letters, digits, ".", "_" and "-" (e.g. stable-4.18).',
        details: { channel, arch },
      },
    );
  }
  return {
    path: `graph/${channel}-${arch}.json`,
    channel,
    arch,
    source: fetched.source,
    bytes: fetched.bytes,
    sha256: sha256Hex(fetched.bytes),
    releases: r.releases.map((n) => n.version),
  };
}
