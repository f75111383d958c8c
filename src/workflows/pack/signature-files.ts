import type { BundleSignature } from '../../bundle/index-schema.js';
import { digestHex } from '../../digest.js';
import { signatureConfigMap, signatureConfigMapName } from '../../signature/configmap.js';
import type { KeptSignature } from '../../signature/gather-signatures.js';
import type { ExtraFile } from './pack-items.js';

export interface SignatureFiles {
  /** Files beside the images: one signature ConfigMap per release and the raw signatures. */
  extras: ExtraFile[];
  /** Bundle paths of the releases' signature ConfigMaps, in release order. */
  configMapPaths: string[];
  /** Every release's signature records, in release order. */
  release: BundleSignature[];
  graphData: BundleSignature[];
}

/** Phase 4: a signature ConfigMap per release and one file per kept signature, with their index records. */
export function signatureFiles(
  releases: { digest: string; sigs: KeptSignature[] }[],
  graph?: { digest: string; sigs: KeptSignature[] },
): SignatureFiles {
  const extras: ExtraFile[] = [];
  const configMapPaths: string[] = [];
  for (const r of releases) {
    const path = `config/${signatureConfigMapName(r.digest)}`;
    configMapPaths.push(path);
    extras.push({
      path,
      data: Buffer.from(
        signatureConfigMap(
          r.digest,
          r.sigs.map((s) => s.bytes),
        ),
      ),
    });
  }
  const add = (digest: string, kept: KeptSignature[]): BundleSignature[] =>
    kept.map((s, i) => {
      const path = `signatures/sha256=${digestHex(digest)}/signature-${i + 1}`;
      extras.push({ path, data: s.bytes });
      const rec: BundleSignature = {
        digest,
        path,
        keyId: s.check.keyId ?? '',
        identity: s.check.identity ?? '',
        source: s.source,
      };
      if (s.check.userId) rec.userId = s.check.userId;
      return rec;
    });
  const release = releases.flatMap((r) => add(r.digest, r.sigs));
  const graphData = graph ? add(graph.digest, graph.sigs) : [];
  return { extras, configMapPaths, release, graphData };
}
