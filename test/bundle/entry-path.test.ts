/**
 * The single check that decides whether a name read from a volume or from bundle.json
 * could escape the directory it is extracted into.
 */
import { describe, expect, it } from 'vitest';
import {
  blobEntryPath,
  entryPathProblem,
  isHex64,
  isSafeEntryPath,
  linkProblem,
  manifestEntryPath,
  parseV2Path,
  partPath,
} from '../../src/bundle/entry-path.js';

const HEX = 'ab'.repeat(32);
const DIGEST = `sha256:${HEX}`;

describe('entryPathProblem', () => {
  it('accepts the paths bale writes', () => {
    for (const p of [
      `v2/openshift/release/blobs/${DIGEST}`,
      `v2/openshift/release/blobs/${DIGEST}.part-001`,
      `v2/openshift/release/manifests/${DIGEST}`,
      'v2/openshift/release/manifests/4.18.1-x86_64',
      'config/idms.yaml',
      'signatures/sha256=abc/signature-1',
      'manifests/signature-sha256-0123456789abcdef.yaml',
    ]) {
      expect(entryPathProblem(p), p).toBeUndefined();
      expect(isSafeEntryPath(p)).toBe(true);
    }
  });

  const refused: [unknown, RegExp][] = [
    [42, /not a string/],
    ['', /empty/],
    [`config/${'a'.repeat(4100)}`, /longer than 4096/],
    ['config/a\nb', /control character/],
    ['config/a\u001b[2Jb', /control character/],
    ['config/a\u007f', /control character/],
    ['config\\..\\..\\etc', /backslash/],
    ['/etc/passwd', /absolute/],
    ['config//a', /empty segment/],
    ['config/', /empty segment/],
    ['config/./a', /"\." segment/],
    ['config/../../etc/passwd', /"\.\." segment/],
    ['v2/../x', /"\.\." segment/],
    ['etc/cron.d/evil', /not under v2\/, config\/, signatures\/, manifests\//],
    ['config', /names a folder/],
    ['v2/r/blobs/md5:abc', /is not v2\/<repository>/],
    ['v2/r/layers/x', /is not v2\/<repository>/],
    ['v2/UPPER/blobs/' + DIGEST, /is not v2\/<repository>/],
  ];
  for (const [path, why] of refused) {
    it(`refuses ${JSON.stringify(path).slice(0, 60)}`, () => {
      expect(entryPathProblem(path)).toMatch(why);
      expect(isSafeEntryPath(path)).toBe(false);
    });
  }
});

describe('parseV2Path', () => {
  it('splits blobs, parts, manifests by digest and by tag', () => {
    expect(parseV2Path(blobEntryPath('a/b', DIGEST))).toEqual({
      repository: 'a/b',
      kind: 'blobs',
      name: DIGEST,
    });
    expect(parseV2Path(partPath(blobEntryPath('a', DIGEST), 12))).toEqual({
      repository: 'a',
      kind: 'blobs',
      name: DIGEST,
      part: 12,
    });
    expect(parseV2Path(manifestEntryPath('a', DIGEST))).toEqual({
      repository: 'a',
      kind: 'manifests',
      name: DIGEST,
    });
    expect(parseV2Path(manifestEntryPath('a', 'v1.0'))).toEqual({
      repository: 'a',
      kind: 'manifests',
      name: 'v1.0',
      tag: 'v1.0',
    });
  });

  it('is undefined for anything else', () => {
    for (const p of [
      'config/a',
      'v2/a/blobs',
      `v2/blobs/${DIGEST}`.replace('v2/blobs', 'v2//blobs'),
      'v2/a/blobs/sha256:short',
      `v2/a/blobs/${DIGEST}.part-1`, // parts have at least three digits
      'v2/a/manifests/-notatag',
      `v2/a/other/${DIGEST}`,
    ]) {
      expect(parseV2Path(p), p).toBeUndefined();
    }
  });
});

describe('partPath', () => {
  it('numbers from 001 and keeps growing past 999', () => {
    expect(partPath('x', 1)).toBe('x.part-001');
    expect(partPath('x', 1000)).toBe('x.part-1000');
  });
});

describe('linkProblem', () => {
  const tag = manifestEntryPath('openshift/release', '4.18.1-x86_64');
  const byDigest = manifestEntryPath('openshift/release', DIGEST);

  it('accepts a tag symlink to a bare digest and a manifest hard link to its own blob', () => {
    expect(linkProblem('symlink', tag, DIGEST)).toBeUndefined();
    expect(linkProblem('hardlink', byDigest, blobEntryPath('openshift/release', DIGEST))).toBeUndefined();
  });

  it('refuses symlinks that point anywhere but a bare digest, or that are not tags', () => {
    expect(linkProblem('symlink', tag, undefined)).toMatch(/no link target/);
    expect(linkProblem('symlink', tag, '../../../../etc/shadow')).toMatch(/not a bare sha256/);
    expect(linkProblem('symlink', tag, `../blobs/${DIGEST}`)).toMatch(/not a bare sha256/);
    expect(linkProblem('symlink', byDigest, DIGEST)).toMatch(/must be a tag/);
    expect(linkProblem('symlink', 'config/a', DIGEST)).toMatch(/must be a tag/);
  });

  it('refuses hard links to another repository, outside the bundle, or from a tag', () => {
    expect(linkProblem('hardlink', byDigest, blobEntryPath('other/repo', DIGEST))).toMatch(
      /is not v2\/openshift/,
    );
    expect(linkProblem('hardlink', byDigest, '/etc/shadow')).toMatch(/is not v2\/openshift/);
    expect(
      linkProblem('hardlink', byDigest, blobEntryPath('openshift/release', `sha256:${'cd'.repeat(32)}`)),
    ).toMatch(/is not/);
    expect(linkProblem('hardlink', tag, blobEntryPath('openshift/release', DIGEST))).toMatch(/must be v2/);
  });
});

describe('isHex64', () => {
  it('is lower-case hex of exactly 64 characters', () => {
    expect(isHex64(HEX)).toBe(true);
    expect(isHex64(HEX.toUpperCase())).toBe(false);
    expect(isHex64(HEX.slice(1))).toBe(false);
    expect(isHex64(undefined)).toBe(false);
  });
});
