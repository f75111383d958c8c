/**
 * `bale mirror`: registry to registry, for a site that reaches both. The plan is
 * computed exactly as `bale plan --to` does; the release signatures are verified as
 * `bale pack` verifies them before anything is written; without `confirm` it stops
 * there (a dry run: nothing is written at the destination). With `confirm` it copies
 * the copy set, adds the tags present images lack, then handles the cluster side.
 */
import { setMaxListeners } from 'node:events';
import { abortable } from '../../abortable.js';
import { BaleError } from '../../errors.js';
import { silentProgress } from '../../progress.js';
import { parseRegistryTarget } from '../../registry/registry-target.js';
import { loadKeyrings } from '../../signature/keyring.js';
import { closeClients, registryClients } from '../../registry/client-factory.js';
import { planWith, type PlanOptions, type PlanResult } from '../../sets/plan-images.js';
import { clusterSide, type ClusterOptions, type ClusterResult } from './cluster-side.js';
import { copyImages, type CopyStats } from './copy-images.js';
import { verifySignatures } from './verify-signatures.js';

export interface MirrorOptions extends Omit<PlanOptions, 'have' | 'volumeSize' | 'to'>, ClusterOptions {
  /** Destination `<registry>[/<prefix>]`. */
  to: string;
  /** Keyring files (default: the Red Hat release key shipped with bale). */
  keyrings?: string[];
  signatureStores?: string[];
  /** Copy; without it, a dry run. */
  confirm?: boolean;
}

export interface MirrorResult {
  plan: PlanResult;
  confirmed: boolean;
  signatures: { release: number; graphData: number };
  copied?: CopyStats;
  cluster?: ClusterResult;
}

export async function mirror(o: MirrorOptions): Promise<MirrorResult> {
  const target = parseRegistryTarget(o.to, '--to');
  const progress = o.progress ?? silentProgress;
  if (!o.confirm && (o.applyManifests || o.applyReleaseImageSignature)) {
    throw new BaleError('E_USAGE', '--apply-manifests and --apply-release-image-signature need --confirm', {
      hint: 'A mirror without --confirm is a dry run and changes nothing; add --confirm (and --dry-run for a server-side dry run of the apply).',
    });
  }
  const keyrings = await loadKeyrings(o.keyrings);
  const clientFor = await registryClients(o, progress);
  const src = clientFor(o.srcTlsVerify);
  const dst = clientFor(o.destTlsVerify);
  if (o.signal) setMaxListeners(0, o.signal);
  const run = async (): Promise<MirrorResult> => {
    const plan = await planWith(o, src, dst, target, progress);
    for (const m of plan.missing)
      progress.warn(
        `missing: ${m.name}@${m.digest || '(no digest)'} is neither at ${m.source} nor at the destination`,
      );
    const sigs = await verifySignatures({
      client: src,
      ...(plan.release !== undefined ? { releaseDigest: plan.release.digest } : {}),
      ...(o.graphData !== undefined && !o.noImages ? { graphData: o.graphData } : {}),
      keyrings,
      ...(o.signatureStores !== undefined ? { signatureStores: o.signatureStores } : {}),
      tlsVerify: o.srcTlsVerify ?? true,
      ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
      progress,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    const result: MirrorResult = {
      plan,
      confirmed: Boolean(o.confirm),
      signatures: { release: sigs.release.length, graphData: sigs.graph.length },
    };
    if (!o.confirm) return result;
    result.copied = await copyImages({
      src,
      dst,
      target,
      copy: plan.copy,
      retag: plan.present.filter((e) => (e.tagsToAdd ?? []).length > 0),
      concurrency: o.concurrency ?? 8,
      progress,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    result.cluster = await clusterSide(o, {
      ...(plan.release !== undefined ? { releaseDigest: plan.release.digest } : {}),
      ...(sigs.graphDigest !== undefined ? { graphDataDigest: sigs.graphDigest } : {}),
      signatures: sigs.release,
      images: [...plan.present, ...plan.copy],
      target,
      progress,
    });
    return result;
  };
  try {
    return await abortable(run(), o.signal);
  } finally {
    await closeClients([src, dst], o.signal);
  }
}
