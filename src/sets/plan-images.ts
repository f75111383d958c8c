/**
 * The promoter's plan for an image set: M (what `bale pack` would carry for the same
 * flags and `--config`, read from the source, which gives S), D (a live destination,
 * HEAD by digest and tag, or a snapshot file), the three sets with sizes, the blobs a
 * bundle would carry (each once; none the destination holds through a present image),
 * the disk space that bundle would need, and the `src=dst` mapping. `bale plan` prints
 * it; `bale mirror` copies its copy set.
 */
import { blobEntryPath } from '../bundle/entry-path.js';
import { entryBound } from '../bundle/plan.js';
import { spaceNeeded } from '../bundle/space-check.js';
import { BaleError } from '../errors.js';
import { readPackInput } from '../imageset/image-input.js';
import type { Progress } from '../progress.js';
import type { RegistryClient, RegistryClientOptions } from '../registry/client.js';
import { formatRegistryTarget, underPrefix, type RegistryTarget } from '../registry/registry-target.js';
import { collectWanted } from './collect-wanted.js';
import { destinationSet } from './destination-set.js';
import { planBlobs, planSets, type BlobPlan, type PlannedImage, type SetPlan } from './set-plan.js';
import { readSnapshotFile, setFromSnapshot } from './snapshot-document.js';

export interface PlanOptions {
  release?: string;
  /** Image set file or thin-manifest directory, as `bale pack --config` reads it. */
  config?: string;
  graphData?: string;
  images?: string[];
  noImages?: boolean;
  /** Live destination `<registry>[/<prefix>]`; with `have`, only names the mapping's destination. */
  to?: string;
  /** Snapshot file of the destination. */
  have?: string;
  /** For the disk estimate (default 4095 MiB, as pack). */
  volumeSize?: number;
  registryConfig?: string;
  srcTlsVerify?: boolean;
  destTlsVerify?: boolean;
  caFile?: string;
  concurrency?: number;
  retry?: RegistryClientOptions['retry'];
  env: Record<string, string | undefined>;
  homeDir: string;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface PlanEntry extends PlannedImage {
  /** `<registry>/<repository>` it comes from. */
  source: string;
}

export interface PlanResult {
  release?: { version: string; architecture: string; digest: string };
  destination: { kind: 'live' | 'snapshot'; where: string };
  present: PlanEntry[];
  copy: PlanEntry[];
  missing: PlanEntry[];
  totals: SetPlan['totals'];
  blobs: {
    carry: number;
    carryBytes: number;
    skip: number;
    skipBytes: number;
    unknownImages: BlobPlan['unknownImages'];
  };
  /** A bundle of the copy set: upper bound of its volumes, and disk needed while packing it. */
  bundle: { volumeBytes: number; diskNeeded: number };
  /** `src@digest=dst:tag` (or `=dst@digest` when untagged), one line per tag of a copy image. */
  mapping: string[];
}

const MiB = 1024 * 1024;
const DEFAULT_VOLUME_SIZE = 4095 * MiB;
const STAGING_WINDOW = 1024 * MiB;

/** The plan with clients the caller owns (`dst` only for a live destination). */
export async function planWith(
  o: PlanOptions,
  src: RegistryClient,
  dst: RegistryClient | undefined,
  target: RegistryTarget | undefined,
  progress: Progress,
): Promise<PlanResult> {
  if (
    o.release === undefined &&
    (o.images ?? []).length === 0 &&
    o.graphData === undefined &&
    o.config === undefined
  ) {
    throw new BaleError('E_USAGE', 'name the images: --release, --graph-data, --image and/or --config', {
      hint: 'The same flags as bale pack.',
    });
  }
  const input = await readPackInput(o, progress, { releaseRequired: false });
  if (input.releases.length > 1 || input.channels.length > 0) {
    throw new BaleError(
      'E_CONFIG',
      'plan and mirror take one release: --release or mirror.platform.release',
      {
        hint: 'Channels and several releases are for bale pack; plan each release on its own.',
      },
    );
  }
  const release = input.releases[0];
  const w = await collectWanted({
    client: src,
    ...(release !== undefined ? { release } : {}),
    ...(o.graphData !== undefined ? { graphData: o.graphData } : {}),
    images: input.images,
    noImages: Boolean(o.noImages),
    concurrency: o.concurrency ?? 8,
    progress,
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  });
  progress.phase('destination');
  const have =
    o.have !== undefined
      ? setFromSnapshot(await readSnapshotFile(o.have))
      : await destinationSet(dst as RegistryClient, target as RegistryTarget, w.wanted, o.signal);
  const sets = planSets(w.wanted, w.source, have);
  const blobs = planBlobs(sets, w.wanted);
  const withSource = (e: PlannedImage): PlanEntry => ({
    ...e,
    source: w.origins.get(`${e.name}@${e.digest}`) ?? '',
  });
  const volumeSize = o.volumeSize ?? DEFAULT_VOLUME_SIZE;
  const volumeBytes = blobs.carry.reduce(
    (n, b) => n + entryBound(blobEntryPath('openshift/release', b.digest), b.size),
    0,
  );
  const bounds: number[] = [];
  for (let left = volumeBytes; left > 0; left -= volumeSize) bounds.push(Math.min(left, volumeSize));
  const space = spaceNeeded({
    volumeBounds: bounds,
    blobSizes: blobs.carry.map((b) => b.size),
    stagedBytes: 0,
    windowBytes: STAGING_WINDOW,
  });
  return {
    ...(w.release !== undefined ? { release: w.release } : {}),
    destination:
      o.have !== undefined
        ? { kind: 'snapshot', where: o.have }
        : { kind: 'live', where: formatRegistryTarget(target as RegistryTarget) },
    present: sets.present.map(withSource),
    copy: sets.copy.map(withSource),
    missing: sets.missing.map(withSource),
    totals: sets.totals,
    blobs: {
      carry: blobs.carry.length,
      carryBytes: blobs.carryBytes,
      skip: blobs.skip.length,
      skipBytes: blobs.skipBytes,
      unknownImages: blobs.unknownImages,
    },
    bundle: { volumeBytes: space.volumes, diskNeeded: space.needed },
    mapping: sets.copy.flatMap((e) => mappingLines(withSource(e), target)),
  };
}

function mappingLines(e: PlanEntry, target: RegistryTarget | undefined): string[] {
  const dst = target !== undefined ? `${target.registry}/${underPrefix(target, e.name)}` : e.name;
  const from = `${e.source}@${e.digest}`;
  if (e.tags.length === 0) return [`${from}=${dst}@${e.digest}`];
  return e.tags.map((t) => `${from}=${dst}:${t}`);
}
