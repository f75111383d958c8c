/**
 * bundle.json's `sigstore` list validated strictly: the records pack writes for the
 * Sigstore signature artifacts it carries (verify checks each artifact again).
 */
import { describe, expect, it } from 'vitest';
import { isRepository } from '../../src/bundle/entry-path.js';
import { SIGSTORE_KEYS, sigstoreListProblems } from '../../src/bundle/sigstore-index.js';
import { sigstoreSignatureTag } from '../../src/signature/sigstore.js';

const REPO = 'openshift/release';
const IMAGE = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('sigstoreListProblems', () => {
  it('bundle.json sigstore records are validated strictly (tag grammar, signs = the tag digest, states)', () => {
    const tag = sigstoreSignatureTag(IMAGE);
    const ok = {
      repository: REPO,
      tag,
      digest: IMAGE,
      signs: IMAGE,
      source: 'quay.io/x/y',
      payloads: [],
      state: 'valid',
    };
    expect(sigstoreListProblems([ok], isRepository)).toEqual([]);
    expect(sigstoreListProblems([{ ...ok, signs: OTHER }], isRepository)[0]).toContain(
      'signs must be the digest its tag names',
    );
    expect(sigstoreListProblems([{ ...ok, tag: 'latest' }], isRepository)[0]).toContain(
      'tag must be sha256-<64 hex>.sig',
    );
    expect(sigstoreListProblems([{ ...ok, state: 'trusted' }], isRepository)[0]).toContain(
      'state must be one of',
    );
    expect(sigstoreListProblems([{ ...ok, extra: 1 }], isRepository)[0]).toContain('unknown field "extra"');
  });

  it('no list is fine; a list that is not an array, or an item that is not an object, is named', () => {
    expect(sigstoreListProblems(undefined, isRepository)).toEqual([]);
    expect(sigstoreListProblems([], isRepository)).toEqual([]);
    expect(sigstoreListProblems({}, isRepository)).toEqual(['sigstore must be an array']);
    expect(sigstoreListProblems([null, [], 'x'], isRepository)).toEqual([
      'sigstore[0] is not an object',
      'sigstore[1] is not an object',
      'sigstore[2] is not an object',
    ]);
  });

  it('names each wrong field with its index, and accepts exactly the keys pack writes', () => {
    const ok = {
      repository: REPO,
      tag: sigstoreSignatureTag(IMAGE),
      digest: OTHER,
      signs: IMAGE,
      source: 'quay.io/x/y',
      payloads: [OTHER],
      state: 'wrong-key',
    };
    expect(Object.keys(ok).sort()).toEqual([...SIGSTORE_KEYS].sort());
    expect(sigstoreListProblems([ok, { ...ok, state: 'malformed' }], isRepository)).toEqual([]);
    const bad = sigstoreListProblems(
      [
        ok,
        {
          ...ok,
          repository: '../etc',
          digest: 'sha256:xyz',
          source: '',
          payloads: ['nope'],
        },
      ],
      isRepository,
    );
    expect(bad).toEqual([
      'sigstore[1].repository must be a repository path',
      'sigstore[1].digest must be a sha256:<64 hex> digest',
      'sigstore[1].source must be a non-empty string',
      'sigstore[1].payloads must be a list of at most 64 sha256 digests',
    ]);
  });

  it('refuses a huge source and more payloads than a signature carries', () => {
    const ok = {
      repository: REPO,
      tag: sigstoreSignatureTag(IMAGE),
      digest: OTHER,
      signs: IMAGE,
      source: 'q/x',
      payloads: [],
      state: 'valid',
    };
    expect(sigstoreListProblems([{ ...ok, source: 'x'.repeat(4097) }], isRepository)).toEqual([
      'sigstore[0].source must be a non-empty string',
    ]);
    expect(
      sigstoreListProblems([{ ...ok, payloads: Array.from({ length: 65 }, () => OTHER) }], isRepository),
    ).toHaveLength(1);
    expect(
      sigstoreListProblems([{ ...ok, payloads: Array.from({ length: 64 }, () => OTHER) }], isRepository),
    ).toEqual([]);
  });
});
