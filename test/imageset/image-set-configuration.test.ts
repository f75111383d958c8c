import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { parseImageSetConfiguration } from '../../src/imageset/image-set-configuration.js';
import { isBlocked } from '../../src/imageset/image-set.js';
import { mulberry32 } from '../helpers/prng.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const FULL = `kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
archiveSize: 4
mirror:
  platform:
    architectures:
      - amd64
      - multi
    channels:
      - name: stable-4.18
        type: ocp
        minVersion: 4.16.3
        maxVersion: 4.18.7
        shortestPath: true
      - name: fast-4.17
        full: true
    graph: true
    release: quay.io/openshift-release-dev/ocp-release@${DIGEST}
  additionalImages:
    - name: registry.redhat.io/ubi9/ubi:latest
    - name: quay.io/example/tool@${DIGEST}
  blockedImages:
    - name: ^quay\\.io/example/blocked.*
`;

function errorOf(text: string): { code: string; message: string; hint: string | undefined } {
  try {
    parseImageSetConfiguration(text, 'isc.yaml');
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected the parse to fail');
}

describe('parseImageSetConfiguration', () => {
  it('reads every field bale carries', () => {
    const set = parseImageSetConfiguration(FULL, 'isc.yaml');
    expect(set.format).toBe('ImageSetConfiguration');
    expect(set.channels).toEqual([
      {
        name: 'stable-4.18',
        type: 'ocp',
        minVersion: '4.16.3',
        maxVersion: '4.18.7',
        shortestPath: true,
        full: false,
      },
      { name: 'fast-4.17', type: 'ocp', shortestPath: false, full: true },
    ]);
    expect(set.architectures).toEqual(['amd64', 'multi']);
    expect(set.graph).toBe(true);
    expect(set.releases).toEqual([
      { registry: 'quay.io', repository: 'openshift-release-dev/ocp-release', digest: DIGEST },
    ]);
    expect(set.additionalImages.map((a) => a.text)).toEqual([
      'registry.redhat.io/ubi9/ubi:latest',
      `quay.io/example/tool@${DIGEST}`,
    ]);
    expect(set.additionalImages[0]?.reference.tag).toBe('latest');
    expect(isBlocked(set, 'quay.io/example/blocked-thing:1')?.pattern).toBe('^quay\\.io/example/blocked.*');
    expect(isBlocked(set, 'quay.io/example/tool:1')).toBeUndefined();
  });

  it('defaults the architecture to amd64 when releases are wanted', () => {
    const set = parseImageSetConfiguration(
      `apiVersion: mirror.openshift.io/v2alpha1
kind: ImageSetConfiguration
mirror:
  platform:
    channels: [{ name: stable-4.18 }]
`,
      'isc.yaml',
    );
    expect(set.architectures).toEqual(['amd64']);
    expect(set.graph).toBe(false);
  });

  it('refuses an unknown field, naming its path and line', () => {
    const e = errorOf(
      FULL.replace('        shortestPath: true', '        shortestPath: true\n        shortestpth: true'),
    );
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toContain('isc.yaml: mirror.platform.channels[0].shortestpth: unknown field');
    expect(e.message).toContain('(line 15)');
    expect(e.hint).toContain('Known fields here');
  });

  it.each([
    [
      'operators',
      '  operators:\n    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.18\n',
      'operator catalogs',
    ],
    ['helm', '  helm:\n    repositories: []\n', 'Helm charts'],
    ['samples', '  samples: []\n', 'sample images'],
  ])('refuses the %s section, saying bale does not carry it', (field, yaml, what) => {
    const e = errorOf(FULL + yaml);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toContain(`mirror.${field}: bale does not carry ${what}`);
  });

  it('refuses kubeVirtContainer: true', () => {
    const e = errorOf(FULL.replace('    graph: true', '    graph: true\n    kubeVirtContainer: true'));
    expect(e.message).toContain('mirror.platform.kubeVirtContainer: bale does not carry');
  });

  it.each([
    [
      'another apiVersion',
      FULL.replace('v2alpha1', 'v1alpha2'),
      'apiVersion: is "mirror.openshift.io/v1alpha2"',
    ],
    [
      'another kind',
      FULL.replace('kind: ImageSetConfiguration', 'kind: ImageSetConfig'),
      'kind: is "ImageSetConfig"',
    ],
    ['a bad version', FULL.replace('4.16.3', '4.16'), 'minVersion: must be a full version in quotes'],
    ['a non-semver version', FULL.replace('4.16.3', '"4.16.x"'), 'minVersion: "4.16.x" is not a version'],
    ['min above max', FULL.replace('4.16.3', '4.19.0'), 'minVersion: 4.19.0 is above maxVersion 4.18.7'],
    [
      'shortestPath with full',
      FULL.replace('        full: true', '        full: true\n        shortestPath: true'),
      'channels[1].full: cannot be combined',
    ],
    ['an unknown channel type', FULL.replace('type: ocp', 'type: rhcos'), 'type: must be ocp or okd'],
    [
      'a channel twice',
      FULL.replace('fast-4.17', 'stable-4.18'),
      'channels[1].name: channel "stable-4.18" is listed twice',
    ],
    [
      'an unknown architecture',
      FULL.replace('- multi', '- x86_64'),
      'architectures[1]: unknown architecture "x86_64"',
    ],
    [
      'a bad release reference',
      FULL.replace(`ocp-release@${DIGEST}`, 'OCP-release:4.18'),
      'mirror.platform.release: invalid image reference',
    ],
    [
      'a bad regex',
      FULL.replace('^quay\\.io/example/blocked.*', '"quay.io/(unclosed"'),
      'blockedImages[0].name: "quay.io/(unclosed" is not a valid regular expression',
    ],
    [
      'graph not a boolean',
      FULL.replace('graph: true', 'graph: "yes"'),
      'mirror.platform.graph: must be true or false',
    ],
    [
      'an additional image without name',
      FULL.replace('    - name: registry.redhat.io/ubi9/ubi:latest', '    - {}'),
      'additionalImages[0].name: is required',
    ],
    [
      'nothing to carry',
      'apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: {}\n',
      'mirror: names nothing to carry',
    ],
    [
      'no mirror section',
      'apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n',
      'mirror: is required',
    ],
    [
      'a duplicate key',
      FULL.replace('    graph: true', '    graph: true\n    graph: false'),
      'is not valid YAML at line',
    ],
    ['bad YAML', FULL.replace('  platform:', '  platform: [\n'), 'is not valid YAML'],
    ['two documents', `${FULL}---\n${FULL}`, 'holds 2 YAML documents'],
    ['an empty file', '', 'is empty'],
  ])('refuses %s with a message naming the field', (_name, text, expected) => {
    const e = errorOf(text);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toContain(expected);
    expect(e.message.startsWith('isc.yaml')).toBe(true);
  });

  it('hostile bytes: every truncation and 200 seeded byte flips give a parse or E_IMAGESET_INVALID, never another error', () => {
    const bytes = Buffer.from(FULL, 'utf8');
    const inputs: string[] = [];
    for (let n = 0; n < bytes.length; n++) inputs.push(bytes.subarray(0, n).toString('utf8'));
    const rand = mulberry32(14);
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b.toString('latin1'));
    }
    let refused = 0;
    for (const text of inputs) {
      try {
        parseImageSetConfiguration(text, 'isc.yaml');
      } catch (err) {
        expect(isBaleError(err, 'E_IMAGESET_INVALID'), String(err)).toBe(true);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(inputs.length / 2);
  });
});
