import type { BundleSignature } from '../../bundle/index-schema.js';
import { digestHex } from '../../digest.js';
import { signatureConfigMap, signatureConfigMapName } from '../../signature/configmap.js';
import type { KeptSignature } from '../../signature/gather-signatures.js';
import type { ExtraFile } from './pack-items.js';

export interface SignatureFiles {
  /** Files beside the images: the signature ConfigMap and the raw signatures. */
  extras: ExtraFile[];
  /** Bundle path of the release's signature ConfigMap. */
  configMapPath: string;
  release: BundleSignature[];
  graphData: BundleSignature[];
}

/** Phase 4: the signature ConfigMap and one file per kept signature, with their index records. */
export function signatureFiles(
  releaseDigest: string,
  releaseSigs: KeptSignature[],
  graph?: { digest: string; sigs: KeptSignature[] },
): SignatureFiles {
  const configMapPath = `config/${signatureConfigMapName(releaseDigest)}`;
  const extras: ExtraFile[] = [
    {
      path: configMapPath,
      data: Buffer.from(
        signatureConfigMap(
          releaseDigest,
          releaseSigs.map((s) => s.bytes),
        ),
      ),
    },
  ];
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
  const release = add(releaseDigest, releaseSigs);
  const graphData = graph ? add(graph.digest, graph.sigs) : [];
  return { extras, configMapPath, release, graphData };
}
