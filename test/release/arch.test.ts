import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import {
  componentTag,
  ocArch,
  parsePinnedReference,
  releaseArchitecture,
  releaseTag,
} from '../../src/release/release-payload.js';

const D = `sha256:${'c'.repeat(64)}`;

describe('ocArch', () => {
  it.each([
    ['amd64', 'x86_64'],
    ['arm64', 'aarch64'],
    ['ppc64le', 'ppc64le'],
    ['s390x', 's390x'],
    ['multi', 'multi'],
    ['x86_64', 'x86_64'],
    ['aarch64', 'aarch64'],
  ])('%s → %s', (go, oc) => {
    expect(ocArch(go)).toBe(oc);
  });

  it('rejects an unknown architecture', () => {
    expect(() => ocArch('mips')).toThrow(/unsupported release architecture "mips"/);
  });
});

describe('releaseArchitecture', () => {
  it('maps the config architecture and says multi for a manifest list', () => {
    expect(releaseArchitecture({ config: Buffer.from('{"architecture":"arm64","os":"linux"}') })).toBe(
      'aarch64',
    );
    expect(releaseArchitecture({ isIndex: true })).toBe('multi');
  });

  it('rejects a config without an architecture or not JSON', () => {
    for (const config of ['{"os":"linux"}', 'nope']) {
      let err: unknown;
      try {
        releaseArchitecture({ config: Buffer.from(config) });
      } catch (e) {
        err = e;
      }
      expect(isBaleError(err, 'E_RELEASE_INVALID')).toBe(true);
    }
  });
});

describe('release and component tags', () => {
  it('formats them the way oc does', () => {
    expect(releaseTag('4.18.7', 'x86_64')).toBe('4.18.7-x86_64');
    expect(componentTag('4.18.7', 'x86_64', 'cluster-version-operator')).toBe(
      '4.18.7-x86_64-cluster-version-operator',
    );
  });

  it('refuses a tag over 128 characters or with bad characters', () => {
    expect(() => componentTag('4.18.7', 'x86_64', 'n'.repeat(115))).toThrow(/not a valid image tag/);
    expect(componentTag('4.18.7', 'x86_64', 'n'.repeat(114))).toHaveLength(128);
    expect(() => componentTag('4.18.7', 'x86_64', 'a/b')).toThrow(/not a valid image tag/);
  });
});

describe('parsePinnedReference', () => {
  it.each([
    [
      `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D}`,
      { registry: 'quay.io', repository: 'openshift-release-dev/ocp-v4.0-art-dev', digest: D },
    ],
    [
      `127.0.0.1:5000/ocp/release-art@${D}`,
      { registry: '127.0.0.1:5000', repository: 'ocp/release-art', digest: D },
    ],
    [`localhost/a@${D}`, { registry: 'localhost', repository: 'a', digest: D }],
    [`[::1]:5000/a/b:t@${D}`, { registry: '[::1]:5000', repository: 'a/b', tag: 't', digest: D }],
    [`busybox@${D}`, { registry: 'docker.io', repository: 'library/busybox', digest: D }],
  ])('%s', (input, expected) => {
    expect(parsePinnedReference(input)).toEqual(expected);
  });

  it.each([
    'quay.io/a/b:latest',
    `quay.io/A/b@${D}`,
    `quay.io/a//b@${D}`,
    `quay.io/a/b@sha256:${'c'.repeat(63)}`,
    `@${D}`,
    `quay.io/a/b:t!@${D}`,
  ])('rejects %s', (input) => {
    expect(parsePinnedReference(input)).toBeUndefined();
  });
});
