/**
 * bundle.json's `base` (an incremental bundle) as validateIndex checks it, and how it is
 * summarized for people. Plain documents in, problems and lines out.
 */
import { describe, expect, it } from 'vitest';
import { baseSummary, describeBase } from '../../src/bundle/base-schema.js';
import { validateIndex } from '../../src/bundle/bundle-index.js';
import type { BundleBase } from '../../src/bundle/index-schema.js';
import { formatSize } from '../../src/bundle/parse-size.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const CARRIED = d('c');

function doc(base: unknown): Record<string, unknown> {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0-test',
    created: '2026-01-01T00:00:00.000Z',
    volumeSize: 1 << 20,
    releases: [],
    images: [],
    signatures: [],
    manifests: [],
    base,
    volumes: [{ name: 'volume-001.tar.zst', size: 100, sha256: 'e'.repeat(64), entries: 1 }],
    entries: [
      {
        path: `v2/app/tool/blobs/${CARRIED}`,
        type: 'file',
        size: 1,
        sha256: 'c'.repeat(64),
        volume: 'volume-001.tar.zst',
      },
    ],
  };
}

const base = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: 'snapshot',
  file: 'site.snapshot.json',
  sha256: 'f'.repeat(64),
  created: '2025-12-01T00:00:00Z',
  digests: [
    { digest: d('1'), repository: 'app/tool', size: 10 },
    { digest: d('2'), repository: 'shared/base', mountTo: ['app/tool', 'app/other'] },
  ],
  ...over,
});

const problems = (b: unknown): string[] => validateIndex(doc(b)).problems;

describe('validateBase (through validateIndex)', () => {
  it('accepts a well-formed base, and no base at all', () => {
    expect(problems(base())).toEqual([]);
    const { base: _omit, ...without } = doc(undefined);
    void _omit;
    expect(validateIndex(without).problems).toEqual([]);
  });

  it.each([
    ['an unknown kind', { kind: 'tarball' }, /base\.kind.*must be "snapshot" or "bundle"/],
    ['a file with a directory', { file: '../snap.json' }, /base\.file.*without a directory/],
    ['a file with a backslash', { file: 'a\\b.json' }, /base\.file/],
    ['a file with a control character', { file: 'snap\x1b[2J.json' }, /base\.file.*control characters/],
    ['a sha256 that is not 64 lowercase hex', { sha256: 'F'.repeat(64) }, /base\.sha256.*64 lowercase hex/],
    ['an unknown field', { extra: true }, /extra/],
  ])('refuses %s', (_what, over, message) => {
    expect(problems(base(over)).join('\n')).toMatch(message);
  });

  it('refuses digests listed twice or out of order', () => {
    const twice = base({
      digests: [
        { digest: d('1'), repository: 'a/b' },
        { digest: d('1'), repository: 'a/b' },
      ],
    });
    expect(problems(twice).join('\n')).toMatch(/base\.digests\[1\]\.digest.*listed once, in sorted order/);
    const unsorted = base({
      digests: [
        { digest: d('2'), repository: 'a/b' },
        { digest: d('1'), repository: 'a/b' },
      ],
    });
    expect(problems(unsorted).join('\n')).toMatch(/base\.digests\[1\]\.digest/);
  });

  it('refuses a bad digest, repository, size or mount target, naming its place', () => {
    const found = problems(
      base({ digests: [{ digest: 'sha256:zz', repository: '/abs', size: -1, mountTo: ['ok/repo', '..'] }] }),
    ).join('\n');
    expect(found).toMatch(/base\.digests\[0\]/);
    expect(found).toMatch(/base\.digests\[0\]\.mountTo\[1\].*must be a repository path/);
  });

  it('refuses a digest both carried and relied on where the base says it is needed', () => {
    const found = problems(base({ digests: [{ digest: CARRIED, repository: 'app/tool' }] }));
    expect(found.join('\n')).toContain(
      `${CARRIED} is both carried (v2/app/tool/blobs/) and relied on in the base`,
    );
    // Mounted from a repository that carries it, into another: fine.
    expect(
      problems(base({ digests: [{ digest: CARRIED, repository: 'app/tool', mountTo: ['app/other'] }] })),
    ).toEqual([]);
    // Mounted into the repository that carries it: refused.
    expect(
      problems(base({ digests: [{ digest: CARRIED, repository: 'shared/x', mountTo: ['app/tool'] }] })).join(
        '\n',
      ),
    ).toContain('is both carried');
  });
});

describe('baseSummary / describeBase', () => {
  const b: BundleBase = {
    kind: 'bundle',
    file: 'bundle.json',
    sha256: '0123456789abcdef'.repeat(4),
    created: '2025-12-01T00:00:00Z',
    digests: [
      { digest: d('1'), repository: 'a/b', size: 1024 },
      { digest: d('2'), repository: 'a/b' },
      { digest: d('3'), repository: 'a/b', size: 2048 },
    ],
  };

  it('is undefined without a base; counts digests and the bytes whose size is recorded', () => {
    expect(baseSummary({})).toBeUndefined();
    expect(baseSummary({ base: b })).toEqual({
      kind: 'bundle',
      file: 'bundle.json',
      sha256: b.sha256,
      created: '2025-12-01T00:00:00Z',
      digests: 3,
      bytes: 3072,
    });
  });

  it('says it in one line, with a short sha256 and the creation time when known', () => {
    const s = baseSummary({ base: b });
    if (!s) throw new Error('summary');
    expect(describeBase(s, formatSize)).toBe(
      'incremental bundle: relies on 3 blob(s) (3.0 KiB) at the destination instead of carrying them; base: bundle bundle.json (sha256 0123456789ab…, created 2025-12-01T00:00:00Z)',
    );
    const { created: _c, ...noCreated } = s;
    void _c;
    expect(describeBase(noCreated, formatSize)).toMatch(/\(sha256 0123456789ab…\)$/);
  });
});
