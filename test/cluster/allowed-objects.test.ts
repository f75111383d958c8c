/** Which objects from a bundle may reach a cluster (issue 12). */
import { describe, expect, it } from 'vitest';
import { planApply, type CandidateFile } from '../../src/cluster/allowed-objects.js';
import type { KubeObject } from '../../src/cluster/kube-object.js';

const obj = (kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: namespace ? { name, namespace } : { name },
});
const signatureCm: CandidateFile = {
  file: 'config/signature-sha256-0123456789abcdef.yaml',
  objects: [obj('ConfigMap', 'sha256-x', 'openshift-config-managed')],
  verifiedSignatures: true,
  generated: false,
};
const idms: CandidateFile = {
  file: 'imagedigestmirrorset.yaml',
  objects: [obj('ImageDigestMirrorSet', 'bale')],
  verifiedSignatures: false,
  generated: true,
};
const clusterVersion: CandidateFile = {
  file: 'manifests/cv.yaml',
  objects: [obj('ClusterVersion', 'version')],
  verifiedSignatures: false,
  generated: false,
};
const fakeSignature: CandidateFile = {
  file: 'config/signature-evil.yaml',
  objects: [obj('Secret', 'planted', 'openshift-config')],
  verifiedSignatures: false,
  generated: false,
};

describe('planApply', () => {
  it('--apply-release-image-signature takes only verified signature ConfigMaps', () => {
    const plan = planApply([signatureCm, idms, fakeSignature, clusterVersion], {
      applyManifests: false,
      applySignatures: true,
      indexSigned: false,
    });
    expect(plan.objects.map((o) => o.kind)).toEqual(['ConfigMap']);
  });

  it('--apply-manifests takes signature ConfigMaps and generated kinds', () => {
    const plan = planApply([signatureCm, idms], {
      applyManifests: true,
      applySignatures: false,
      indexSigned: false,
    });
    expect(plan.sources).toEqual([
      'config/signature-sha256-0123456789abcdef.yaml: ConfigMap openshift-config-managed/sha256-x',
      'imagedigestmirrorset.yaml: ImageDigestMirrorSet bale',
    ]);
  });

  it('refuses any other kind, naming the file and the kind, unless a verified bundle signature covers it', () => {
    for (const f of [clusterVersion, fakeSignature]) {
      expect(() =>
        planApply([signatureCm, f], { applyManifests: true, applySignatures: false, indexSigned: false }),
      ).toThrow(expect.objectContaining({ code: 'E_UNANCHORED', message: expect.stringContaining(f.file) }));
    }
    expect(() =>
      planApply([clusterVersion], { applyManifests: true, applySignatures: false, indexSigned: false }),
    ).toThrow(/ClusterVersion version/);
    const signed = planApply([clusterVersion], {
      applyManifests: true,
      applySignatures: false,
      indexSigned: true,
    });
    expect(signed.objects.map((o) => o.kind)).toEqual(['ClusterVersion']);
  });

  it('a verified signature file with a second object is not a signature ConfigMap', () => {
    const padded: CandidateFile = {
      ...signatureCm,
      objects: [...signatureCm.objects, obj('Secret', 's', 'x')],
    };
    expect(() =>
      planApply([padded], { applyManifests: false, applySignatures: true, indexSigned: false }),
    ).not.toThrow();
    expect(
      planApply([padded], { applyManifests: false, applySignatures: true, indexSigned: false }).objects,
    ).toEqual([]);
  });
});
