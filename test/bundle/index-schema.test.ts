/** index-schema.ts is bundle.json's types; its one function is the way to read releases. */
import { describe, expect, it } from 'vitest';
import { BUNDLE_SCHEMA, BUNDLE_SCHEMA_V1, releasesOf } from '../../src/bundle/index-schema.js';
import { parseIndex } from '../../src/bundle/bundle-index.js';

const REL = {
  version: '4.18.1',
  architecture: 'x86_64',
  digest: `sha256:${'c'.repeat(64)}`,
  source: 'quay.io/openshift-release-dev/ocp-release',
  repository: 'openshift/release',
  tag: '4.18.1-x86_64',
};
const SECOND = { ...REL, version: '4.18.2', tag: '4.18.2-x86_64', digest: `sha256:${'d'.repeat(64)}` };
const doc = {
  baleVersion: '0',
  created: '2026-01-01T00:00:00Z',
  volumeSize: 1024,
  images: [],
  signatures: [],
  manifests: [],
  volumes: [],
  entries: [],
};

describe('releasesOf', () => {
  it('is every release, in update order; empty for a --no-images bundle', () => {
    expect(releasesOf({ releases: [REL, SECOND] })).toEqual([REL, SECOND]);
    expect(releasesOf({ releases: [] })).toEqual([]);
  });

  it('reads a v1 index (one `release`) and a v2 index the same way', () => {
    expect(BUNDLE_SCHEMA).toBe('bale.bundle/v2');
    const v1 = parseIndex(JSON.stringify({ ...doc, schema: BUNDLE_SCHEMA_V1, release: REL }));
    expect(v1.schema).toBe(BUNDLE_SCHEMA_V1);
    expect(releasesOf(v1)).toEqual([REL]);
    expect(
      releasesOf(parseIndex(JSON.stringify({ ...doc, schema: BUNDLE_SCHEMA, releases: [REL, SECOND] }))),
    ).toEqual([REL, SECOND]);
  });
});
