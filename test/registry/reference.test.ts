import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  referenceTarget,
  registryEndpoint,
  type ImageReference,
} from '../../src/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

const good: [string, ImageReference][] = [
  ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
  ['ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
  ['docker.io/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
  ['index.docker.io/library/ubuntu:x', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'x' }],
  ['bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis' }],
  [
    'quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64',
    { registry: 'quay.io', repository: 'openshift-release-dev/ocp-release', tag: '4.18.1-x86_64' },
  ],
  [
    `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${D}`,
    { registry: 'quay.io', repository: 'openshift-release-dev/ocp-v4.0-art-dev', digest: D },
  ],
  [`127.0.0.1:5000/a/b/c:t@${D}`, { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 't', digest: D }],
  ['localhost/foo', { registry: 'localhost', repository: 'foo' }],
  ['localhost:5000/foo:latest', { registry: 'localhost:5000', repository: 'foo', tag: 'latest' }],
  ['[::1]:5000/foo', { registry: '[::1]:5000', repository: 'foo' }],
  [
    'Registry.Example.com/a__b/c-d--e/f.g',
    { registry: 'registry.example.com', repository: 'a__b/c-d--e/f.g' },
  ],
  ['r.io/x:_tag', { registry: 'r.io', repository: 'x', tag: '_tag' }],
  [`r.io/x:${'T'.repeat(128)}`, { registry: 'r.io', repository: 'x', tag: 'T'.repeat(128) }],
];

const bad: [string, RegExp][] = [
  ['', /empty/],
  ['Ubuntu', /lowercase/],
  ['quay.io/Org/repo', /lowercase/],
  ['quay.io/org/repo:', /not a valid tag/],
  ['quay.io/org/repo:.bad', /not a valid tag/],
  [`quay.io/org/repo:${'t'.repeat(129)}`, /not a valid tag/],
  ['quay.io/org/repo@sha256:abc', /not a sha256 digest/],
  [`quay.io/org/repo@sha512:${'a'.repeat(128)}`, /not a sha256 digest/],
  [`quay.io/org/repo@sha256:${'A'.repeat(64)}`, /not a sha256 digest/],
  ['quay.io/org//repo', /empty component/],
  ['quay.io/', /missing/],
  ['quay.io/-repo', /not a valid repository path component/],
  ['quay.io/repo_', /not a valid repository path component/],
  ['quay.io/a...b', /not a valid repository path component/],
  ['https://quay.io/org/repo', /URL scheme/],
  ['docker://quay.io/org/repo', /URL scheme/],
  ['quay.io/org/repo tag', /white space/],
  ['-bad.io/repo', /not a valid registry host/],
  [`r.io/${'a'.repeat(256)}`, /longer than 255/],
  [':tag', /missing/],
];

describe('parseReference', () => {
  it.each(good)('parses %s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each(bad)('rejects %j with E_REFERENCE', (input, why) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(isBaleError(caught, 'E_REFERENCE')).toBe(true);
    expect((caught as Error).message).toMatch(why);
    expect((caught as { hint?: string }).hint).toBeTruthy();
  });

  it('round-trips through formatReference', () => {
    for (const [input] of good) {
      const ref = parseReference(input);
      expect(parseReference(formatReference(ref))).toEqual(ref);
    }
    expect(formatReference(parseReference('ubuntu'))).toBe('docker.io/library/ubuntu');
  });

  it('chooses what to request', () => {
    expect(referenceTarget(parseReference(`r.io/x:t@${D}`))).toBe(D);
    expect(referenceTarget(parseReference('r.io/x:t'))).toBe('t');
    expect(referenceTarget(parseReference('r.io/x'))).toBe('latest');
  });

  it('sends docker.io requests to registry-1.docker.io', () => {
    expect(registryEndpoint('docker.io')).toBe('registry-1.docker.io');
    expect(registryEndpoint('quay.io')).toBe('quay.io');
  });
});

describe('isLoopbackRegistry', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST:443', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['128.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['quay.io', false],
    ['localhost.example.com:5000', false],
  ])('%s → %s', (reg, expected) => {
    expect(isLoopbackRegistry(reg)).toBe(expected);
  });
});
