/**
 * Before `bale mirror` copies anything: the release's signatures (and the graph-data
 * image's, when one is mirrored) are fetched and verified exactly as `bale pack` does,
 * through the same gatherSignatures. No verified signature, no copy.
 */
import { parseReference } from '../../registry/reference.js';
import type { RegistryClient } from '../../registry/client.js';
import { resolveGraphData } from '../../release/graph-data.js';
import type { Progress } from '../../progress.js';
import {
  OFFICIAL_SIGNATURE_STORES,
  gatherSignatures,
  type KeptSignature,
} from '../../signature/gather-signatures.js';
import type { Keyring } from '../../signature/keyring.js';

export interface VerifiedSignatures {
  release: KeptSignature[];
  graph: KeptSignature[];
  /** The graph-data image digest whose signatures were verified (the UpdateService names it). */
  graphDigest?: string;
}

export async function verifySignatures(o: {
  client: RegistryClient;
  releaseDigest?: string;
  graphData?: string;
  keyrings: Keyring[];
  signatureStores?: string[];
  tlsVerify: boolean;
  caFile?: string;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<VerifiedSignatures> {
  const out: VerifiedSignatures = { release: [], graph: [] };
  o.progress.phase('signatures');
  if (o.releaseDigest !== undefined) {
    out.release = await gatherSignatures({
      digest: o.releaseDigest,
      stores: o.signatureStores?.length ? o.signatureStores : OFFICIAL_SIGNATURE_STORES,
      keyrings: o.keyrings,
      tlsVerify: o.tlsVerify,
      caFile: o.caFile,
      progress: o.progress,
      what: 'release',
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  if (o.graphData !== undefined) {
    const ref = parseReference(o.graphData);
    const src = { registry: ref.registry, repository: ref.repository };
    const graph = await resolveGraphData(o.client, src, ref.digest ?? ref.tag ?? 'latest');
    out.graphDigest = graph.root.digest;
    out.graph = await gatherSignatures({
      digest: graph.root.digest,
      stores: o.signatureStores ?? [],
      keyrings: o.keyrings,
      extra: graph.candidates,
      tlsVerify: o.tlsVerify,
      caFile: o.caFile,
      progress: o.progress,
      what: 'graph-data image',
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  return out;
}
