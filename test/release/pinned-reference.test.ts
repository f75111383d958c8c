import { describe, expect, it } from 'vitest';
import { parsePinnedReference } from '../../src/release/pinned-reference.js';

const HEX = 'c'.repeat(64);

describe('parsePinnedReference', () => {
  it('a reference pinned by a sha256 digest, with or without a tag', () => {
    expect(
      parsePinnedReference(`quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${HEX}`),
    ).toMatchObject({
      registry: 'quay.io',
      repository: 'openshift-release-dev/ocp-v4.0-art-dev',
      digest: `sha256:${HEX}`,
    });
    expect(parsePinnedReference(`quay.io/a/b:4.18@sha256:${HEX}`)).toMatchObject({
      tag: '4.18',
      digest: `sha256:${HEX}`,
    });
  });

  it('undefined for a tag alone, a short or upper-case digest, another algorithm, or a malformed reference', () => {
    for (const ref of [
      'quay.io/a/b:4.18',
      `quay.io/a/b@sha256:${HEX.slice(2)}`,
      `quay.io/a/b@sha256:${HEX.toUpperCase()}`,
      `quay.io/a/b@sha512:${HEX}${HEX}`,
      `quay.io/A/b@sha256:${HEX}`,
      '',
      `@sha256:${HEX}`,
    ]) {
      expect(parsePinnedReference(ref), ref).toBeUndefined();
    }
  });
});
