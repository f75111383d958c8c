import { describe, expect, it } from 'vitest';
import { expectedEntries } from '../../src/bundle/expected-entries.js';
import type { BundleIndex } from '../../src/bundle/index-schema.js';

const H = (c: string): string => c.repeat(64);

// Only the fields expectedEntries reads.
const index = {
  entries: [
    {
      path: `v2/r/blobs/sha256:${H('a')}`,
      type: 'file',
      size: 10,
      sha256: H('a'),
      volume: 'volume-001.tar.zst',
    },
    {
      path: `v2/r/blobs/sha256:${H('b')}`,
      type: 'file',
      size: 300,
      sha256: H('b'),
      parts: [
        {
          volume: 'volume-001.tar.zst',
          path: `v2/r/blobs/sha256:${H('b')}.part-001`,
          size: 100,
          sha256: H('1'),
        },
        {
          volume: 'volume-002.tar.zst',
          path: `v2/r/blobs/sha256:${H('b')}.part-002`,
          size: 200,
          sha256: H('2'),
        },
      ],
    },
    {
      path: `v2/r/manifests/sha256:${H('a')}`,
      type: 'hardlink',
      size: 0,
      volume: 'volume-002.tar.zst',
      linkTarget: `v2/r/blobs/sha256:${H('a')}`,
    },
    {
      path: 'v2/r/manifests/v1',
      type: 'symlink',
      size: 0,
      volume: 'volume-002.tar.zst',
      linkTarget: `sha256:${H('a')}`,
    },
  ],
} as unknown as BundleIndex;

describe('expectedEntries', () => {
  it('whole entries and the parts a volume holds, in index order, parts as plain files', () => {
    expect(expectedEntries(index, 'volume-001.tar.zst')).toEqual([
      { path: `v2/r/blobs/sha256:${H('a')}`, type: 'file', size: 10, sha256: H('a') },
      { path: `v2/r/blobs/sha256:${H('b')}.part-001`, type: 'file', size: 100, sha256: H('1') },
    ]);
    expect(expectedEntries(index, 'volume-002.tar.zst')).toEqual([
      { path: `v2/r/blobs/sha256:${H('b')}.part-002`, type: 'file', size: 200, sha256: H('2') },
      {
        path: `v2/r/manifests/sha256:${H('a')}`,
        type: 'hardlink',
        size: 0,
        linkTarget: `v2/r/blobs/sha256:${H('a')}`,
      },
      { path: 'v2/r/manifests/v1', type: 'symlink', size: 0, linkTarget: `sha256:${H('a')}` },
    ]);
  });

  it('nothing for a volume the index does not name; no undefined fields on links', () => {
    expect(expectedEntries(index, 'volume-009.tar.zst')).toEqual([]);
    const link = expectedEntries(index, 'volume-002.tar.zst')[2]!;
    expect(Object.keys(link)).toEqual(['path', 'type', 'size', 'linkTarget']);
  });
});
