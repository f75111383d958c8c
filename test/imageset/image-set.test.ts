/** The image-set model: an empty set to fill, and blocked-image rules. */
import { describe, expect, it } from 'vitest';
import { emptyImageSet, IMAGESET_ARCHITECTURES, isBlocked } from '../../src/imageset/image-set.js';

describe('emptyImageSet', () => {
  it('has the format and source and nothing else; each call a fresh object', () => {
    const a = emptyImageSet('promoter-manifest', '/x/promoter.yaml');
    expect(a).toEqual({
      format: 'promoter-manifest',
      source: '/x/promoter.yaml',
      channels: [],
      releases: [],
      architectures: [],
      graph: false,
      additionalImages: [],
      blockedImages: [],
      promotedImages: [],
    });
    a.channels.push({ name: 'stable-4.18', type: 'ocp', shortestPath: false, full: false });
    expect(emptyImageSet('promoter-manifest', '/x').channels).toEqual([]);
  });

  it('knows the architectures a release can have', () => {
    expect([...IMAGESET_ARCHITECTURES]).toEqual(['amd64', 'arm64', 'ppc64le', 's390x', 'multi']);
  });
});

describe('isBlocked', () => {
  const set = {
    blockedImages: [
      { pattern: '^quay\\.io/example/', regex: /^quay\.io\/example\// },
      { pattern: ':latest$', regex: /:latest$/ },
    ],
  };

  it('the first matching rule, or undefined', () => {
    expect(isBlocked(set, 'quay.io/example/tool:v1')?.pattern).toBe('^quay\\.io/example/');
    expect(isBlocked(set, 'quay.io/example/tool:latest')?.pattern).toBe('^quay\\.io/example/');
    expect(isBlocked(set, 'registry.example/a:latest')?.pattern).toBe(':latest$');
    expect(isBlocked(set, 'registry.example/a:v1')).toBeUndefined();
    expect(isBlocked({ blockedImages: [] }, 'anything')).toBeUndefined();
  });
});
