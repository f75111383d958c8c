/**
 * What unpack generates for the destination and prints for the operator
 * (src/workflows/unpack/cluster-output.ts), from plain bundle index data: the mirror
 * sets (ITMS only for content carried by tag outside a release), the UpdateService
 * when graph data and a release are carried, and the oc commands.
 */
import { describe, expect, it } from 'vitest';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { generatedMirrorConfig, unpackNextSteps } from '../../../src/workflows/unpack/cluster-output.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

function index(extra: Partial<BundleIndex> = {}): BundleIndex {
  return {
    releases: [
      {
        version: '4.18.1',
        architecture: 'x86_64',
        digest: d('a'),
        source: 'quay.io/openshift-release-dev/ocp-release',
        repository: 'openshift/release',
        tag: '4.18.1-x86_64',
      },
    ],
    images: [
      {
        name: 'release',
        source: 'quay.io/openshift-release-dev/ocp-release',
        repository: 'openshift/release',
        digest: d('a'),
        mediaType: OCI,
        size: 1,
        tags: ['4.18.1-x86_64'],
      },
      {
        name: 'cli',
        source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
        repository: 'openshift/release',
        digest: d('b'),
        mediaType: OCI,
        size: 1,
        tags: ['4.18.1-x86_64-cli'],
      },
      {
        name: 'tool',
        source: 'registry.example/team/tool',
        repository: 'team/tool',
        digest: d('c'),
        mediaType: OCI,
        size: 1,
        tags: ['v1'],
      },
      {
        name: 'pinned',
        source: 'registry.example/team/pinned',
        repository: 'team/pinned',
        digest: d('e'),
        mediaType: OCI,
        size: 1,
        tags: [],
      },
    ],
    ...extra,
  } as unknown as BundleIndex;
}

const dest = { registry: 'mirror.example:5000', prefix: 'ocp4' };

describe('generatedMirrorConfig', () => {
  it('an IDMS for every repository; an ITMS only for tagged content outside the release', () => {
    const files = generatedMirrorConfig(index(), dest, false);
    expect(files.map((f) => [f.file, f.source, f.generated, f.verifiedSignatures])).toEqual([
      ['imagedigestmirrorset.yaml', 'imagedigestmirrorset.yaml', true, false],
      ['imagetagmirrorset.yaml', 'imagetagmirrorset.yaml', true, false],
    ]);
    const idms = files[0]?.objects[0]?.spec as {
      imageDigestMirrors: { source: string; mirrors: string[] }[];
    };
    expect(idms.imageDigestMirrors).toEqual([
      {
        source: 'quay.io/openshift-release-dev/ocp-release',
        mirrors: ['mirror.example:5000/ocp4/openshift/release'],
      },
      {
        source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
        mirrors: ['mirror.example:5000/ocp4/openshift/release'],
      },
      { source: 'registry.example/team/pinned', mirrors: ['mirror.example:5000/ocp4/team/pinned'] },
      { source: 'registry.example/team/tool', mirrors: ['mirror.example:5000/ocp4/team/tool'] },
    ]);
    const itms = files[1]?.objects[0]?.spec as { imageTagMirrors: unknown };
    expect(itms.imageTagMirrors).toEqual([
      { source: 'registry.example/team/tool', mirrors: ['mirror.example:5000/ocp4/team/tool'] },
    ]);
    expect(generatedMirrorConfig(index(), dest, true).map((f) => f.file)).toContain(
      'imagecontentsourcepolicy.yaml',
    );
  });

  it('graph data and a release: an UpdateService naming the mirrored release repository and graph data by digest; Sigstore artifacts get no ITMS entry', () => {
    const files = generatedMirrorConfig(
      index({
        graphData: { repository: 'openshift/graph-data', digest: d('f'), tag: 'latest' },
        sigstore: [{ repository: 'team/tool', digest: d('c') }],
      } as unknown as Partial<BundleIndex>),
      dest,
      false,
    );
    expect(files.map((f) => f.file)).toEqual(['imagedigestmirrorset.yaml', 'updateservice.yaml']);
    expect(files[1]?.objects[0]?.spec).toEqual({
      graphDataImage: `mirror.example:5000/ocp4/openshift/graph-data@${d('f')}`,
      releases: 'mirror.example:5000/ocp4/openshift/release',
      replicas: 2,
    });
  });
});

describe('unpackNextSteps', () => {
  it('from a --to-dir: one oc image mirror per release, the destination a placeholder when unknown', () => {
    const steps = unpackNextSteps({
      index: index(),
      toDir: '/media/usb/dir',
      mirroredReleases: [],
      applied: false,
    });
    expect(steps).toHaveLength(1);
    expect(steps[0]).toBe(
      "oc image mirror --keep-manifest-list=true --from-dir=/media/usb/dir 'file://openshift/release:4.18.1*' REGISTRY/REPOSITORY",
    );
  });

  it('after a push: oc apply of the manifests unless applied, and the upgrade by digest per release', () => {
    const image = `mirror.example:5000/ocp4/openshift/release@${d('a')}`;
    const steps = unpackNextSteps({
      index: index(),
      dest,
      mirroredReleases: [image],
      manifestsDir: '/tmp/my manifests',
      applied: false,
    });
    expect(steps[0]).toBe("oc apply -f '/tmp/my manifests'");
    expect(steps[1]).toMatch(/^oc adm upgrade /);
    expect(steps[1]).toContain(image);
    const applied = unpackNextSteps({
      index: index(),
      dest,
      mirroredReleases: [image],
      manifestsDir: '/tmp/m',
      applied: true,
    });
    expect(applied).toHaveLength(1);
    expect(unpackNextSteps({ index: index(), dest, mirroredReleases: [], applied: false })).toEqual([]);
  });

  it('a --to-dir with a destination names it; Sigstore artifacts of the release get their own mirror line', () => {
    const steps = unpackNextSteps({
      index: index({
        sigstore: [{ repository: 'openshift/release', digest: d('9') }],
      } as unknown as Partial<BundleIndex>),
      toDir: '/d',
      dest,
      mirroredReleases: [],
      applied: false,
    });
    expect(steps).toHaveLength(2);
    expect(steps).toEqual([
      "oc image mirror --keep-manifest-list=true --from-dir=/d 'file://openshift/release:4.18.1*' mirror.example:5000/ocp4/openshift/release",
      "oc image mirror --keep-manifest-list=true --from-dir=/d 'file://openshift/release:sha256-*' mirror.example:5000/ocp4/openshift/release",
    ]);
  });
});
