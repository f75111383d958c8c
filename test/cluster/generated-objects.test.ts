/**
 * The cluster objects generated for a mirror (IDMS, ITMS, ICSP, UpdateService), field by
 * field as OpenShift's APIs define them, and the YAML text being exactly those objects.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GENERATED_KINDS } from '../../src/cluster/allowed-objects.js';
import {
  generatedObjects,
  ICSP_FILE,
  IDMS_FILE,
  ITMS_FILE,
  UPDATE_SERVICE_FILE,
  type MirroredRepository,
} from '../../src/cluster/generated-objects.js';

const GRAPH = `mirror.example:5000/ocp/graph-data@sha256:${'a'.repeat(64)}`;
const REPOS: MirroredRepository[] = [
  { source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev', mirror: 'mirror.example:5000/ocp/release' },
  { source: 'quay.io/openshift-release-dev/ocp-release', mirror: 'mirror.example:5000/ocp/release' },
  { source: 'registry.example/team/tool', mirror: 'mirror.example:5000/team/tool', byTag: true },
  // the same source twice: one entry, mirrors deduplicated in first-seen order
  { source: 'quay.io/openshift-release-dev/ocp-release', mirror: 'backup.example/ocp/release' },
  { source: 'quay.io/openshift-release-dev/ocp-release', mirror: 'mirror.example:5000/ocp/release' },
];

const all = () =>
  generatedObjects({
    repositories: REPOS,
    icsp: true,
    updateService: { releases: 'mirror.example:5000/ocp/release', graphDataImage: GRAPH },
  });

const byFile = (files: ReturnType<typeof generatedObjects>) => new Map(files.map((f) => [f.file, f]));

describe('generatedObjects', () => {
  it('writes the files in a fixed order, each holding one object of a kind apply allows', () => {
    const files = all();
    expect(files.map((f) => f.file)).toEqual([IDMS_FILE, ICSP_FILE, ITMS_FILE, UPDATE_SERVICE_FILE]);
    expect([IDMS_FILE, ITMS_FILE, ICSP_FILE, UPDATE_SERVICE_FILE]).toEqual([
      'imagedigestmirrorset.yaml',
      'imagetagmirrorset.yaml',
      'imagecontentsourcepolicy.yaml',
      'updateservice.yaml',
    ]);
    for (const f of files) {
      expect(f.objects).toHaveLength(1);
      expect(GENERATED_KINDS.has(f.objects[0]!.kind)).toBe(true);
      // the text is the object, nothing more or less
      expect(parse(f.text)).toEqual(f.objects[0]);
    }
  });

  it('ImageDigestMirrorSet: config.openshift.io/v1, every repository by source (sorted), mirrors merged', () => {
    expect(byFile(all()).get(IDMS_FILE)?.objects[0]).toEqual({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'bale-mirror' },
      spec: {
        imageDigestMirrors: [
          {
            source: 'quay.io/openshift-release-dev/ocp-release',
            mirrors: ['mirror.example:5000/ocp/release', 'backup.example/ocp/release'],
          },
          {
            source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
            mirrors: ['mirror.example:5000/ocp/release'],
          },
          { source: 'registry.example/team/tool', mirrors: ['mirror.example:5000/team/tool'] },
        ],
      },
    });
  });

  it('ImageContentSourcePolicy: operator.openshift.io/v1alpha1 with the same entries, only on request', () => {
    const icsp = byFile(all()).get(ICSP_FILE)?.objects[0];
    expect(icsp).toMatchObject({
      apiVersion: 'operator.openshift.io/v1alpha1',
      kind: 'ImageContentSourcePolicy',
      metadata: { name: 'bale-mirror' },
    });
    expect((icsp?.spec as { repositoryDigestMirrors: unknown }).repositoryDigestMirrors).toEqual(
      (byFile(all()).get(IDMS_FILE)?.objects[0]?.spec as { imageDigestMirrors: unknown }).imageDigestMirrors,
    );
    expect(generatedObjects({ repositories: REPOS }).map((f) => f.file)).toEqual([IDMS_FILE, ITMS_FILE]);
    expect(generatedObjects({ repositories: REPOS, icsp: false }).map((f) => f.file)).not.toContain(
      ICSP_FILE,
    );
  });

  it('ImageTagMirrorSet: only the repositories referenced by tag', () => {
    expect(byFile(all()).get(ITMS_FILE)?.objects[0]).toEqual({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageTagMirrorSet',
      metadata: { name: 'bale-tag-mirror' },
      spec: {
        imageTagMirrors: [
          { source: 'registry.example/team/tool', mirrors: ['mirror.example:5000/team/tool'] },
        ],
      },
    });
    const noTags = REPOS.map(({ source, mirror }) => ({ source, mirror }));
    expect(generatedObjects({ repositories: noTags }).map((f) => f.file)).toEqual([IDMS_FILE]);
  });

  it('UpdateService: the operator’s API, its namespace, the graph data by digest, two replicas', () => {
    expect(byFile(all()).get(UPDATE_SERVICE_FILE)?.objects[0]).toEqual({
      apiVersion: 'updateservice.operator.openshift.io/v1',
      kind: 'UpdateService',
      metadata: { name: 'bale-update-service', namespace: 'openshift-update-service' },
      spec: { graphDataImage: GRAPH, releases: 'mirror.example:5000/ocp/release', replicas: 2 },
    });
  });

  it('nothing to mirror: no file at all; an UpdateService alone is still written', () => {
    expect(generatedObjects({ repositories: [], icsp: true })).toEqual([]);
    expect(
      generatedObjects({
        repositories: [],
        updateService: { releases: 'mirror.example:5000/ocp/release', graphDataImage: GRAPH },
      }).map((f) => f.file),
    ).toEqual([UPDATE_SERVICE_FILE]);
  });

  it.each([
    ['a mirror with a tag', [{ source: 'quay.io/a/b', mirror: 'm.example/a/b:latest' }]],
    ['a source with a scheme', [{ source: 'https://quay.io/a/b', mirror: 'm.example/a/b' }]],
    ['a mirror equal to its source', [{ source: 'quay.io/a/b', mirror: 'quay.io/a/b' }]],
  ])('refuses %s with E_REFERENCE, writing nothing', (_n, repositories) => {
    expect(() => generatedObjects({ repositories })).toThrow(
      expect.objectContaining({ code: 'E_REFERENCE' }),
    );
  });

  it('refuses an UpdateService whose graph data is not pinned by digest', () => {
    expect(() =>
      generatedObjects({
        repositories: REPOS,
        updateService: {
          releases: 'mirror.example:5000/ocp/release',
          graphDataImage: 'mirror.example:5000/ocp/graph-data:latest',
        },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_REFERENCE',
        message: expect.stringContaining('not pinned by digest'),
      }),
    );
  });
});
