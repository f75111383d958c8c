/**
 * `bale plan`: a dry run that changes nothing. For the image set `bale pack` would carry
 * (M, read from the source, which gives S) and a destination given live (`--to`) or as
 * a snapshot file (`--have`, giving D), the promoter's three sets with sizes, the blobs
 * a bundle would carry (each once; none the destination holds through a present
 * image), the disk space that bundle would need, and the `src=dst` mapping.
 */
import { abortable } from '../../abortable.js';
import { blobEntryPath } from '../../bundle/entry-path.js';
import { entryBound } from '../../bundle/plan.js';
import { BaleError } from '../../errors.js';
import { spaceNeeded } from '../../bundle/space-check.js';
import { silentProgress, type Progress } from '../../progress.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.js';
import { loadCredentials } from '../../registry/credentials.js';
import {
  formatRegistryTarget,
  parseRegistryTarget,
  underPrefix,
  type RegistryTarget,
} from '../../registry/registry-target.js';
import { planBlobs, planSets, type BlobPlan, type PlannedImage, type SetPlan } from '../../sets/set-plan.js';
import { readSnapshotFile, setFromSnapshot } from '../../sets/snapshot-document.js';
import { collectWanted } from './collect-wanted.js';
import { destinationSet } from './destination-set.js';

export interface PlanOptions {
  release?: string;
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

export async function plan(o: PlanOptions): Promise<PlanResult> {
  if (o.to === undefined && o.have === undefined) {
    throw new BaleError(
      'E_USAGE',
      'name the destination: --to REGISTRY[/PREFIX] (live) or --have FILE (a snapshot)',
      {
        hint: 'Make a snapshot inside the air gap with bale snapshot, carry it out, and pass it with --have.',
      },
    );
  }
  const target = o.to !== undefined ? parseRegistryTarget(o.to, '--to') : undefined;
  const progress = o.progress ?? silentProgress;
  const clientFor = await registryClients(o, progress);
  const src = clientFor(o.srcTlsVerify);
  const dst = o.have === undefined ? clientFor(o.destTlsVerify) : undefined;
  try {
    return await abortable(planWith(o, src, dst, target, progress), o.signal);
  } finally {
    await closeClients([src, dst], o.signal);
  }
}

/** Options that make registry clients (the source's and the destination's). */
export type ClientOptions = Pick<
  PlanOptions,
  'registryConfig' | 'env' | 'homeDir' | 'caFile' | 'concurrency' | 'retry'
>;

/** A factory of registry clients sharing credentials, CA and retry policy; `tlsVerify` per side. */
export async function registryClients(
  o: ClientOptions,
  progress: Progress,
): Promise<(tlsVerify: boolean | undefined) => RegistryClient> {
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  return (tlsVerify) =>
    new RegistryClient({
      credentials,
      tlsVerify: tlsVerify ?? true,
      ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
      concurrency: o.concurrency ?? 8,
      ...(o.retry !== undefined ? { retry: o.retry } : {}),
      onRetry: (e) =>
        progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`),
    });
}

/** Closes clients; after an abort, ends their connections at once. */
export async function closeClients(
  clients: readonly (RegistryClient | undefined)[],
  signal?: AbortSignal,
): Promise<void> {
  for (const c of clients) {
    if (c === undefined) continue;
    if (signal?.aborted) await c.destroy();
    else await c.close();
  }
}

/** The plan with clients the caller owns (`dst` only for a live destination). */
export async function planWith(
  o: PlanOptions,
  src: RegistryClient,
  dst: RegistryClient | undefined,
  target: RegistryTarget | undefined,
  progress: Progress,
): Promise<PlanResult> {
  if (o.release === undefined && (o.images ?? []).length === 0 && o.graphData === undefined) {
    throw new BaleError('E_USAGE', 'name the images: --release, --graph-data and/or --image', {
      hint: 'The same flags as bale pack.',
    });
  }
  const w = await collectWanted({
    client: src,
    ...(o.release !== undefined ? { release: o.release } : {}),
    ...(o.graphData !== undefined ? { graphData: o.graphData } : {}),
    images: o.images ?? [],
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
