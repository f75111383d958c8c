/**
 * `bale inspect`'s report, and its first phase: what bundle.json says (releases, images,
 * volumes, signatures as recorded at pack time, base, sigstore artifacts), nothing checked.
 */
import { baseSummary, type BaseSummary } from '../../bundle/base-schema.js';
import {
  releasesOf,
  type BundleBaseDigest,
  type BundleGraph,
  type BundleIndex,
} from '../../bundle/index-schema.js';
import type { Problem } from '../../bundle/problem.js';
import type { TrustReport } from '../../bundle/verify-bundle.js';
import type { SigstoreResult } from '../../bundle/sigstore-checks.js';

export interface InspectReport {
  dir: string;
  schema: string;
  baleVersion: string;
  created: string;
  volumeSize: number;
  /** The last release of the bundle (the highest of an update path), as before several releases per bundle. */
  release?: InspectRelease;
  /** Every release carried, in bundle.json order. */
  releases: InspectRelease[];
  /** Update-graph documents the releases were chosen from. */
  graphs: BundleGraph[];
  images: {
    name: string;
    repository: string;
    source: string;
    digest: string;
    mediaType: string;
    size: number;
    tags: string[];
  }[];
  volumes: { name: string; size: number; sha256: string; entries: number }[];
  signatures: {
    path: string;
    kind: string;
    digest?: string;
    keyId?: string;
    userId?: string;
    identity?: string;
    /** Checked against the keyrings (deep only); undefined: as recorded at pack time, not checked now. */
    verified?: boolean;
    reason?: string;
  }[];
  graphData?: { revision: string; digest: string; tag: string };
  /** Files `unpack --apply-manifests` applies. */
  manifests: string[];
  /** An incremental bundle: its base, and every digest it relies on at the destination. */
  base?: BaseSummary & { blobs: BundleBaseDigest[] };
  totals: { images: number; volumes: number; bytes: number; entries: number };
  /** Deep only. */
  /** deep only: the full verification, with the trust report (what anchors each item). */
  verification?: { ok: boolean; problems: Problem[]; trust?: TrustReport };
  /** Sigstore signature artifacts: `recorded` is what pack found; `state` is set when checked (deep). */
  sigstore?: InspectSigstore[];
}

export interface InspectRelease {
  version: string;
  architecture: string;
  digest: string;
  source: string;
  tag: string;
}

export type InspectSigstore = Pick<SigstoreResult, 'repository' | 'tag' | 'digest' | 'signs' | 'recorded'> &
  Partial<Pick<SigstoreResult, 'state' | 'reason' | 'keyFingerprint'>>;

/** Phase 1: the report as bundle.json states it. */
export function summaryOf(dir: string, index: BundleIndex): InspectReport {
  const report: InspectReport = {
    dir,
    schema: index.schema,
    baleVersion: index.baleVersion,
    created: index.created,
    volumeSize: index.volumeSize,
    releases: releasesOf(index).map((r) => ({
      version: r.version,
      architecture: r.architecture,
      digest: r.digest,
      source: r.source,
      tag: r.tag,
    })),
    graphs: (index.graphs ?? []).map((g) => ({ ...g, releases: [...g.releases] })),
    images: index.images.map((i) => ({
      name: i.name,
      repository: i.repository,
      source: i.source,
      digest: i.digest,
      mediaType: i.mediaType,
      size: i.size,
      tags: [...i.tags],
    })),
    volumes: index.volumes.map((v) => ({ ...v })),
    signatures: [
      ...index.signatures.map((s) => ({
        path: s.path,
        kind: 'release',
        digest: s.digest,
        keyId: s.keyId,
        userId: s.userId,
        identity: s.identity,
      })),
      ...(index.graphData?.signatures ?? []).map((s) => ({
        path: s.path,
        kind: 'graph-data',
        digest: s.digest,
        keyId: s.keyId,
        userId: s.userId,
        identity: s.identity,
      })),
    ],
    manifests: [...index.manifests],
    totals: {
      images: index.images.length,
      volumes: index.volumes.length,
      bytes: index.volumes.reduce((n, v) => n + v.size, 0),
      entries: index.entries.length,
    },
  };
  const last = report.releases.at(-1);
  if (last) report.release = last;
  if (index.graphData) {
    report.graphData = {
      revision: index.graphData.revision,
      digest: index.graphData.digest,
      tag: index.graphData.tag,
    };
  }
  const base = baseSummary(index);
  if (base && index.base) report.base = { ...base, blobs: index.base.digests.map((d) => ({ ...d })) };
  if (index.sigstore !== undefined) {
    report.sigstore = index.sigstore.map((x) => ({
      repository: x.repository,
      tag: x.tag,
      digest: x.digest,
      signs: x.signs,
      recorded: x.state,
    }));
  }
  return report;
}
