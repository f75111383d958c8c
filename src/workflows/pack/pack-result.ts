/** Pack's last phase: what was packed, said as a PackResult (counts, releases, signatures, stats). */
import type { BundleIndex } from '../../bundle/index-schema.js';
import type { collectImages } from './collect-all.js';
import type { PackContext } from './context.js';
import type { planBundle } from './plan-bundle.js';
import type { readPackBase } from './base.js';
import { packedReleases, type resolveReleases } from './release-set.js';
import type { signatureFiles } from './signature-files.js';
import type { collectSigstoreArtifacts } from './sigstore-artifacts.js';
import type { PackResult } from './types.js';
import type { PayloadVerifier } from './verifier-config.js';

export interface PackedParts {
  to: string;
  started: number;
  rels: Awaited<ReturnType<typeof resolveReleases>>[number]['rel'][];
  signed: Awaited<ReturnType<typeof resolveReleases>>;
  content: Awaited<ReturnType<typeof collectImages>>;
  sigstore: Awaited<ReturnType<typeof collectSigstoreArtifacts>>;
  base: Awaited<ReturnType<typeof readPackBase>>;
  sigs: ReturnType<typeof signatureFiles>;
  bp: Awaited<ReturnType<typeof planBundle>>;
  index: BundleIndex;
  signature: string | undefined;
}

export function packResult(ctx: PackContext, parts: PackedParts): PackResult {
  const { to, started, rels, signed, content, sigstore, base, sigs, bp, index, signature } = parts;
  const packed = packedReleases(rels);
  const { stats } = ctx.stager;
  const fed = ctx.feed.stats;
  const cstats = ctx.client.stats;
  return {
    bundleDir: to,
    release: packed.highest,
    releases: packed.releases,
    graphs: (index.graphs ?? []).map(({ sha256: _sha, ...g }) => g),
    images: content.images.length,
    blobs: index.entries.filter((e) => e.path.includes('/blobs/')).length,
    contentBytes: index.entries.reduce((n, e) => n + e.size, 0),
    volumes: index.volumes,
    signatures: sigs.release.map((s) => ({
      keyId: s.keyId,
      userId: s.userId,
      identity: s.identity,
      source: s.source,
    })),
    graphData: content.graph
      ? { revision: content.graph.revision, digest: content.graph.root.digest }
      : undefined,
    sigstore: sigstore.records.map(({ repository, tag, digest, state }) => ({
      repository,
      tag,
      digest,
      state,
    })),
    signed: signature !== undefined,
    ...(base ? { base: { ...base.record, digests: base.record.digests.length, bytes: base.bytes } } : {}),
    verifier: verifierOf(signed[0]?.verifier),
    stats: {
      blobsDownloaded: stats.downloaded + fed.downloaded,
      blobsReused: stats.reused + bp.blobsInCheckpoint,
      bytesDownloaded: stats.bytesDownloaded + fed.bytesDownloaded,
      bytesResumed: stats.bytesResumed,
      volumesReused: bp.finished.size,
      requests: cstats.requests,
      retries: cstats.retries,
    },
    durationMs: Date.now() - started,
  };
}

/** PackResult.verifier for the first release (each release's payload is read the same way). */
function verifierOf(v: PayloadVerifier | undefined): PackResult['verifier'] {
  if (v === undefined) return { stores: [], storesFrom: 'official' };
  return { stores: v.stores, storesFrom: v.storesFrom, ...(v.keys ? { keys: v.keys } : {}) };
}
