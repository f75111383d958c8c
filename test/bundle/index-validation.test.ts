/**
 * bundle.json v2 (`releases`, `graphs`) and v1 (`release`) as parseIndex reads them:
 * a v1 index comes back with its release as a one-element `releases`; each way the new
 * fields can be wrong is a named problem (E_BUNDLE_INVALID).
 */
import { describe, expect, it } from 'vitest';
import { parseIndex, serializeIndex } from '../../src/bundle/bundle-index.js';
import { releasesOf, type BundleIndex } from '../../src/bundle/index-schema.js';
import { isBaleError } from '../../src/errors.js';

const HEX = 'a'.repeat(64);
const GRAPH_HEX = 'b'.repeat(64);
const REL = {
  version: '4.16.3',
  architecture: 'x86_64',
  digest: `sha256:${'c'.repeat(64)}`,
  source: 'quay.io/openshift-release-dev/ocp-release',
  repository: 'openshift/release',
  tag: '4.16.3-x86_64',
};

function v2(): Record<string, unknown> {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0-test',
    created: '2026-01-01T00:00:00.000Z',
    volumeSize: 1 << 20,
    releases: [
      REL,
      { ...REL, version: '4.16.10', tag: '4.16.10-x86_64', digest: `sha256:${'d'.repeat(64)}` },
    ],
    graphs: [
      {
        path: 'graph/stable-4.16-amd64.json',
        channel: 'stable-4.16',
        arch: 'amd64',
        source: 'https://example.invalid/graph?channel=stable-4.16&arch=amd64',
        sha256: GRAPH_HEX,
        releases: ['4.16.3', '4.16.10'],
      },
    ],
    images: [],
    signatures: [],
    manifests: [],
    volumes: [{ name: 'volume-001.tar.zst', size: 100, sha256: HEX, entries: 1 }],
    entries: [
      {
        path: 'graph/stable-4.16-amd64.json',
        type: 'file',
        size: 10,
        sha256: GRAPH_HEX,
        volume: 'volume-001.tar.zst',
      },
    ],
  };
}

function problems(doc: unknown): string[] {
  try {
    parseIndex(JSON.stringify(doc));
    return [];
  } catch (err) {
    if (!isBaleError(err, 'E_BUNDLE_INVALID')) throw err;
    return (err.details?.problems as string[] | undefined) ?? [err.message];
  }
}

describe('bundle.json v2 and v1', () => {
  it('a v2 index with two releases and a graph document parses, and serializes in key order', () => {
    const index = parseIndex(JSON.stringify(v2()));
    expect(releasesOf(index).map((r) => r.version)).toEqual(['4.16.3', '4.16.10']);
    expect(index.graphs?.[0]?.path).toBe('graph/stable-4.16-amd64.json');
    const text = serializeIndex(index);
    expect(Object.keys(JSON.parse(text) as object).slice(4, 6)).toEqual(['releases', 'graphs']);
    expect(parseIndex(text)).toEqual(index);
  });

  it('a v1 index (one `release`) is read as a list of that release', () => {
    const { releases, graphs: _g, ...rest } = v2() as { releases: unknown[]; graphs: unknown };
    const v1 = { ...rest, schema: 'bale.bundle/v1', release: releases[0] };
    const index: BundleIndex = parseIndex(JSON.stringify(v1));
    expect(index.schema).toBe('bale.bundle/v1');
    expect(releasesOf(index)).toEqual([REL]);
    expect('release' in index).toBe(false);
    const none = parseIndex(JSON.stringify({ ...rest, schema: 'bale.bundle/v1' }));
    expect(releasesOf(none)).toEqual([]);
  });

  it.each([
    [
      'v1 with v2 fields',
      (d: Record<string, unknown>) => ({ ...d, schema: 'bale.bundle/v1' }),
      'unknown field "releases"',
    ],
    [
      'v2 with a v1 `release`',
      (d: Record<string, unknown>) => ({ ...d, release: REL }),
      'unknown field "release"',
    ],
    [
      'an unknown schema',
      (d: Record<string, unknown>) => ({ ...d, schema: 'bale.bundle/v9' }),
      'schema must be',
    ],
    [
      'one release twice',
      (d: Record<string, unknown>) => ({ ...d, releases: [REL, REL] }),
      'is listed as two releases',
    ],
    [
      'a graph document that is not an entry',
      (d: Record<string, unknown>) => ({
        ...d,
        graphs: [{ ...(d.graphs as object[])[0], path: 'graph/other-amd64.json' }],
      }),
      'graph/other-amd64.json is not a file entry',
    ],
    [
      'a graph document whose sha256 is not its entry’s',
      (d: Record<string, unknown>) => ({ ...d, graphs: [{ ...(d.graphs as object[])[0], sha256: HEX }] }),
      'differs from the sha256 of entry',
    ],
    [
      'a graph naming a version the bundle does not carry',
      (d: Record<string, unknown>) => ({
        ...d,
        graphs: [{ ...(d.graphs as object[])[0], releases: ['4.16.3', '4.17.0'] }],
      }),
      '"4.17.0" is not the version of a release in releases',
    ],
    [
      'a graph path outside graph/',
      (d: Record<string, unknown>) => ({
        ...d,
        graphs: [{ ...(d.graphs as object[])[0], path: 'config/x.json' }],
      }),
      'must be graph/<channel>-<arch>.json',
    ],
  ])('refuses %s, naming the problem', (_what, change, message) => {
    const found = problems(change(v2()));
    expect(found.join('\n')).toContain(message);
  });
});
