import { describe, expect, it } from 'vitest';
import { mirrorConfig, toYaml } from '../../src/cluster/mirror-config.js';
import { isDns1123Label, isDns1123Subdomain } from '../../src/cluster/names.js';
import { BaleError } from '../../src/errors.js';

const MIRROR = 'mirror.example.com:5000/openshift/release';

const GOLDEN_IDMS = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: release-4-18-1
spec:
  imageDigestMirrors:
    - source: quay.io/openshift-release-dev/ocp-release
      mirrors:
        - mirror.example.com:5000/openshift/release
    - source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
      mirrors:
        - mirror.example.com:5000/openshift/release
        - backup.example.com/openshift/release
`;

const GOLDEN_ICSP = `apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata:
  name: release-4-18-1
spec:
  repositoryDigestMirrors:
    - source: quay.io/openshift-release-dev/ocp-release
      mirrors:
        - mirror.example.com:5000/openshift/release
    - source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
      mirrors:
        - mirror.example.com:5000/openshift/release
        - backup.example.com/openshift/release
`;

const SOURCES = [
  { source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev', mirror: MIRROR },
  { source: 'quay.io/openshift-release-dev/ocp-release', mirror: MIRROR },
  {
    source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
    mirror: 'backup.example.com/openshift/release',
  },
  { source: 'quay.io/openshift-release-dev/ocp-release', mirror: MIRROR }, // duplicate
  { source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev', mirror: MIRROR }, // duplicate
];

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof BaleError ? e.code : `not a BaleError: ${String(e)}`;
  }
  return undefined;
}

describe('mirrorConfig', () => {
  it('produces the golden ImageDigestMirrorSet and ImageContentSourcePolicy (formats.md §6)', () => {
    const { idms, icsp } = mirrorConfig({ sources: SOURCES, name: 'release-4-18-1' });
    expect(toYaml(idms)).toBe(GOLDEN_IDMS);
    expect(toYaml(icsp)).toBe(GOLDEN_ICSP);
  });

  it('is deterministic: sources sorted, duplicates merged, mirror priority kept in first-seen order', () => {
    const a = mirrorConfig({ sources: SOURCES, name: 'x' });
    const reordered = [SOURCES[1], SOURCES[0], SOURCES[3], SOURCES[2]].filter((s) => s !== undefined);
    const b = mirrorConfig({ sources: reordered, name: 'x' });
    expect(toYaml(b.idms)).toBe(toYaml(a.idms));
    expect(a.idms.spec.imageDigestMirrors.map((e) => e.source)).toEqual([
      'quay.io/openshift-release-dev/ocp-release',
      'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
    ]);
  });

  it('defaults the name, and the two objects share entries without sharing arrays', () => {
    const { idms, icsp } = mirrorConfig({ sources: [{ source: 'quay.io/a/b', mirror: 'm.example/a/b' }] });
    expect(idms.metadata.name).toBe('bale-mirror');
    expect(icsp.metadata.name).toBe('bale-mirror');
    idms.spec.imageDigestMirrors[0]?.mirrors.push('changed.example/x');
    expect(icsp.spec.repositoryDigestMirrors[0]?.mirrors).toEqual(['m.example/a/b']);
  });

  it('accepts a wildcard source and a port in the mirror', () => {
    const { idms } = mirrorConfig({ sources: [{ source: '*.example.com', mirror: 'localhost:5000/all' }] });
    expect(idms.spec.imageDigestMirrors).toEqual([
      { source: '*.example.com', mirrors: ['localhost:5000/all'] },
    ]);
  });

  it('rejects invalid names (DNS-1123)', () => {
    for (const name of ['Release', 'a_b', '-a', 'a-', '', 'x'.repeat(254)]) {
      expect(
        code(() => mirrorConfig({ sources: [{ source: 'quay.io/a', mirror: 'm.example/a' }], name })),
      ).toBe('E_USAGE');
    }
    expect(
      code(() => mirrorConfig({ sources: [{ source: 'quay.io/a', mirror: 'm.example/a' }], name: 'a.b-c' })),
    ).toBeUndefined();
  });

  it('rejects references with a scheme, tag or digest, a wildcard mirror, or mirror == source', () => {
    const bad = [
      { source: 'https://quay.io/a/b', mirror: 'm.example/a' },
      { source: 'quay.io/a/b:4.18', mirror: 'm.example/a' },
      { source: 'quay.io/a/b@sha256:' + 'a'.repeat(64), mirror: 'm.example/a' },
      { source: 'quay.io/a/b', mirror: '*.example.com' },
      { source: 'quay.io/a/B', mirror: 'm.example/a' },
      { source: 'quay.io/a/b', mirror: '' },
      { source: 'quay.io/a/b', mirror: 'quay.io/a/b' },
    ];
    for (const s of bad)
      expect(
        code(() => mirrorConfig({ sources: [s] })),
        JSON.stringify(s),
      ).toBe('E_REFERENCE');
    expect(code(() => mirrorConfig({ sources: [] }))).toBe('E_USAGE');
  });
});

describe('DNS-1123 names', () => {
  it('subdomain vs label', () => {
    expect(isDns1123Subdomain('sha256-' + 'a'.repeat(64))).toBe(true);
    expect(isDns1123Subdomain('a.b')).toBe(true);
    expect(isDns1123Label('a.b')).toBe(false);
    expect(isDns1123Label('openshift-config-managed')).toBe(true);
    expect(isDns1123Label('x'.repeat(64))).toBe(false);
  });
});

describe('toYaml', () => {
  it('never folds long values (base64 signatures stay on one line)', () => {
    const long = 'A'.repeat(500);
    expect(toYaml({ binaryData: { k: long } })).toBe(`binaryData:\n  k: ${long}\n`);
  });
});
