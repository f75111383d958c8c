/**
 * One tar header checked before its body is read (volume-entry-check.ts): unsafe content
 * is E_BUNDLE_HOSTILE whatever the index says; a safe entry that is not what bundle.json
 * lists is E_BUNDLE_INVALID; a size mismatch is E_SIZE_MISMATCH, fatal only when the
 * entry is larger than listed (its body is never read).
 */
import type tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { blobEntryPath, manifestEntryPath } from '../../src/bundle/entry-path.js';
import { entryHeaderProblem, type EntryCheckState } from '../../src/bundle/volume-entry-check.js';
import type { ExpectedEntry } from '../../src/bundle/volume-reader.js';

const REPO = 'openshift/release';
const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;
const BLOB = blobEntryPath(REPO, DIGEST);
const MANIFEST = manifestEntryPath(REPO, DIGEST);
const TAG = manifestEntryPath(REPO, '4.18.1');

function header(h: Partial<tar.Header> & { name: string }): tar.Header {
  return { size: 0, mode: 0o644, type: 'file', linkname: '', ...h } as tar.Header;
}

function state(over: Partial<EntryCheckState> = {}): EntryCheckState {
  const expected: ExpectedEntry[] = [
    { path: BLOB, type: 'file', size: 10, sha256: HEX },
    { path: MANIFEST, type: 'hardlink', size: 0, linkTarget: BLOB },
    { path: TAG, type: 'symlink', size: 0, linkTarget: DIGEST },
  ];
  return {
    volume: 'volume-001.tar.zst',
    expected: new Map(expected.map((e) => [e.path, e])),
    seen: new Set(),
    seenFiles: new Set([BLOB]),
    ...over,
  };
}

describe('entryHeaderProblem', () => {
  it('accepts each entry that is what the index lists', () => {
    expect(entryHeaderProblem(header({ name: BLOB, size: 10 }), state())).toBeUndefined();
    expect(
      entryHeaderProblem(header({ name: MANIFEST, type: 'link', linkname: BLOB }), state()),
    ).toBeUndefined();
    expect(
      entryHeaderProblem(header({ name: TAG, type: 'symlink', linkname: DIGEST }), state()),
    ).toBeUndefined();
  });

  it('refuses unsafe content as hostile, before looking at the index', () => {
    const hostile = (h: tar.Header, s = state()): string | undefined => {
      const p = entryHeaderProblem(h, s);
      expect(p?.code).toBe('E_BUNDLE_HOSTILE');
      return p?.message;
    };
    expect(hostile(header({ name: '../etc/passwd' }))).toMatch(
      /^volume-001\.tar\.zst: entry "\.\.\/etc\/passwd" /,
    );
    expect(hostile(header({ name: BLOB, type: 'character-device' }))).toMatch(
      /is a character-device, not a file or link/,
    );
    expect(hostile(header({ name: BLOB, size: 10, mode: 0o4755 }))).toMatch(
      /mode 4755 \(setuid\/setgid\/sticky\)/,
    );
    expect(hostile(header({ name: TAG, type: 'symlink', linkname: '../../../etc' }))).toMatch(
      /not a bare sha256/,
    );
    // A hard link to a file that did not come earlier in this volume.
    expect(
      hostile(header({ name: MANIFEST, type: 'link', linkname: BLOB }), state({ seenFiles: new Set() })),
    ).toMatch(/points to .* which is not earlier in this volume/);
  });

  it('names what differs from bundle.json', () => {
    const invalid = (h: tar.Header, s = state()): string | undefined => {
      const p = entryHeaderProblem(h, s);
      expect(p?.code).toBe('E_BUNDLE_INVALID');
      expect(p?.fatal).toBeUndefined();
      return p?.message;
    };
    expect(invalid(header({ name: BLOB, size: 10 }), state({ seen: new Set([BLOB]) }))).toMatch(
      /appears more than once/,
    );
    const other = blobEntryPath(REPO, `sha256:${'b'.repeat(64)}`);
    expect(invalid(header({ name: other }))).toMatch(/is not in bundle\.json$/);
    expect(invalid(header({ name: other }), state({ locate: () => 'volume-002.tar.zst' }))).toMatch(
      /belongs in volume-002\.tar\.zst according to bundle\.json$/,
    );
    expect(invalid(header({ name: TAG, size: 0 }))).toMatch(/is a file, bundle\.json says symlink/);
    const otherDigest = `sha256:${'c'.repeat(64)}`;
    expect(invalid(header({ name: TAG, type: 'symlink', linkname: otherDigest }))).toMatch(
      new RegExp(`points to ${otherDigest}, bundle\\.json says ${DIGEST}`),
    );
  });

  it('stops at an entry larger than listed, and only reports a smaller one', () => {
    const larger = entryHeaderProblem(header({ name: BLOB, size: 11 }), state());
    expect(larger).toMatchObject({ code: 'E_SIZE_MISMATCH', fatal: true, entry: BLOB, digest: DIGEST });
    expect(larger?.message).toMatch(/is 11 bytes, bundle\.json says 10; stopped reading this volume$/);
    const smaller = entryHeaderProblem(header({ name: BLOB, size: 9 }), state());
    expect(smaller).toMatchObject({ code: 'E_SIZE_MISMATCH', entry: BLOB, digest: DIGEST });
    expect(smaller?.fatal).toBeUndefined();
    expect(smaller?.message).toMatch(/is 9 bytes, bundle\.json says 10$/);
  });
});
