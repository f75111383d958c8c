import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_VOLUME_SIZE, planVolumes, type PlanInput, type VolumePlan } from '../../bundle/plan.js';
import { hashFile } from '../../bundle/sha256sums.js';
import type { WrittenVolume } from '../../bundle/volume-writer.js';
import { digestHex } from '../../digest.js';
import type { Repo } from '../../registry/client.js';
import type { PackContext } from './context.js';
import { PackJournal } from './pack-journal.js';
import { planFingerprint, type PackItem } from './pack-items.js';
import { assertSpace, freeSpace, spaceNeeded } from '../../bundle/space-check.js';
import { adoptFinishedBundle, checkFinishedSigning } from './target.js';
import { DEFAULT_COMPRESSION_LEVEL } from './types.js';
import type { SourceCandidate } from '../../registry/mirror-sources.js';

export interface NeededBlob {
  digest: string;
  size: number;
  src: Repo;
  /** Every source of the image, src first (mirrors configured): see BlobFeed. */
  sources?: SourceCandidate[];
}

export interface BundlePlan {
  plan: VolumePlan;
  level: number;
  volumeSize: number;
  byPath: Map<string, PackItem>;
  journal: PackJournal;
  /** Volumes finished by an earlier run and still intact on disk. */
  finished: Map<string, WrittenVolume>;
  /** Blobs the unfinished volumes need from the network, in the writer's order (each digest once). */
  blobsNeeded: NeededBlob[];
  /** Blob entries an interrupted run already wrote into the volume it was writing. */
  blobsInCheckpoint: number;
}

/** Phase 5: the volume plan, and what of it an earlier (interrupted or finished) run already wrote. */
export async function planBundle(
  ctx: PackContext,
  items: PackItem[],
  targetFinished: boolean,
): Promise<BundlePlan> {
  const { o, to } = ctx;
  const level = o.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
  const volumeSize = o.volumeSize ?? DEFAULT_VOLUME_SIZE;
  const plan = planVolumes(items.map(planInput), { volumeSize });
  const byPath = new Map(items.map((i) => [i.path, i]));
  const journal = await PackJournal.open(ctx.stateDir, planFingerprint(items, volumeSize, level));
  if (targetFinished) {
    await checkFinishedSigning(to, Boolean(o.signKey));
    await adoptFinishedBundle(to, plan, journal);
  }
  const finished = new Map<string, WrittenVolume>();
  for (const vol of plan.volumes) {
    const rec = journal.finished(vol.name);
    if (!rec) continue;
    const path = join(to, vol.name);
    const st = await stat(path).catch(() => undefined);
    if (st?.size === rec.size && (await hashFile(path)).sha256 === rec.sha256) {
      finished.set(vol.name, {
        name: rec.name,
        size: rec.size,
        sha256: rec.sha256,
        entries: rec.entryRecords,
      });
    } else {
      ctx.progress.warn(`${vol.name} does not match what was written before; writing it again`);
      await journal.forget(vol.name);
    }
  }
  // Entries before an interrupted volume's last checkpoint are written: their blobs are not needed.
  const blobsNeeded: NeededBlob[] = [];
  const queued = new Set<string>();
  let blobsInCheckpoint = 0;
  for (const vol of plan.volumes) {
    if (finished.has(vol.name)) continue;
    const resumeAt = journal.checkpoint(vol.name)?.entries ?? 0;
    blobsInCheckpoint += vol.entries
      .slice(0, resumeAt)
      .filter((e) => byPath.get(e.part?.of ?? e.path)?.kind === 'blob').length;
    for (const e of vol.entries.slice(resumeAt)) {
      const item = byPath.get(e.part?.of ?? e.path);
      if (item?.kind !== 'blob' || queued.has(item.digest) || ctx.stager.staging(item.digest)) continue;
      queued.add(item.digest);
      blobsNeeded.push({
        digest: item.digest,
        size: item.size,
        src: item.src,
        ...(item.sources ? { sources: item.sources } : {}),
      });
    }
  }
  return { plan, level, volumeSize, byPath, journal, finished, blobsNeeded, blobsInCheckpoint };
}

/**
 * Phase 6: refuses to start when the target cannot hold what is left to write (the
 * volumes: blobs go from the network into them with no copy on disk).
 */
export async function checkRoom(ctx: PackContext, bp: BundlePlan): Promise<void> {
  const need = spaceNeeded({
    volumeBounds: bp.plan.volumes.filter((v) => !bp.finished.has(v.name)).map((v) => v.bound),
    blobSizes: [],
    stagedBytes: 0,
    windowBytes: 0,
  });
  const available = await (ctx.o.freeSpace ?? freeSpace)(ctx.to);
  if (available !== undefined) assertSpace(ctx.to, available, need);
}

function planInput(item: PackItem): PlanInput {
  const group = String(item.group);
  switch (item.kind) {
    case 'blob':
      return { path: item.path, type: 'file', size: item.size, sha256: digestHex(item.digest), group };
    case 'bytes':
      return {
        path: item.path,
        type: 'file',
        size: item.size,
        sha256: createHash('sha256').update(item.data).digest('hex'),
        group,
      };
    case 'hardlink':
      return { path: item.path, type: 'hardlink', size: 0, linkTarget: item.target, group };
    case 'symlink':
      return { path: item.path, type: 'symlink', size: 0, linkTarget: item.target, group };
  }
}
