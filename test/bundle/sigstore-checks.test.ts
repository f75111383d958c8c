/**
 * The offline checks of carried Sigstore artifacts (src/bundle/sigstore-checks.ts), on
 * cosign-format artifacts made with per-run keys: each state, the problem it raises,
 * what --allow-unsigned changes, and that only valid artifacts become trust anchors.
 */
import { describe, expect, it } from 'vitest';
import {
  buildSigstoreArtifact,
  generateSigstoreKeyPair,
  type SigstoreArtifact,
} from '../../fixtures/sigstore.js';
import { blobEntryPath } from '../../src/bundle/entry-path.js';
import type { BundleIndex } from '../../src/bundle/index-schema.js';
import type { Problem } from '../../src/bundle/problem.js';
import { checkSigstoreArtifacts, sigstorePayloadPaths } from '../../src/bundle/sigstore-checks.js';
import { sha256Digest } from '../../src/digest.js';
import { parseSigstoreKey } from '../../src/signature/sigstore-key.js';
import { sigstoreSignatureTag } from '../../src/signature/sigstore.js';

const REPO = 'openshift/release';
const IMAGE = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const pair = generateSigstoreKeyPair('ecdsa-p256');
const rsa = generateSigstoreKeyPair('rsa');
const key = parseSigstoreKey(pair.publicKeyPem, 'cosign.pub');
const rsaKey = parseSigstoreKey(rsa.publicKeyPem, 'rsa.pub');

function bundleWith(artifact: SigstoreArtifact, opts: { dropPayload?: boolean } = {}) {
  const tag = sigstoreSignatureTag(IMAGE);
  const payloads = artifact.payloads.map((p) => sha256Digest(p));
  const index = {
    images: [
      {
        name: 'x.sig',
        source: 'quay.io/x/y',
        repository: REPO,
        digest: artifact.manifest.digest,
        mediaType: artifact.manifest.mediaType,
        size: 1,
        tags: [tag],
      },
    ],
    sigstore: [
      {
        repository: REPO,
        tag,
        digest: artifact.manifest.digest,
        signs: IMAGE,
        source: 'quay.io/x/y',
        payloads,
        state: 'valid' as const,
      },
    ],
  } as unknown as BundleIndex;
  const content = new Map<string, Buffer>([
    [blobEntryPath(REPO, artifact.manifest.digest), artifact.manifest.bytes],
  ]);
  if (!opts.dropPayload) for (const [d, b] of artifact.blobs) content.set(blobEntryPath(REPO, d), b);
  return { index, content };
}

function run(
  artifact: SigstoreArtifact,
  opts: { allowUnsigned?: boolean; dropPayload?: boolean; keys?: (typeof key)[] } = {},
) {
  const { index, content } = bundleWith(artifact, opts);
  const problems: Problem[] = [];
  const r = checkSigstoreArtifacts({
    index,
    content,
    keys: opts.keys ?? [key],
    allowUnsigned: Boolean(opts.allowUnsigned),
    add: (p) => problems.push(p),
  });
  return { ...r, problems, index };
}

describe('Sigstore artifacts carried in a bundle, checked offline', () => {
  it('valid: a key verifies a signature for the digest its tag names; it becomes an anchor candidate', () => {
    const a = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: 'quay.io/x/y', key: pair });
    const r = run(a, { keys: [rsaKey, key] });
    expect(r.problems).toEqual([]);
    expect(r.results[0]?.state).toBe('valid');
    expect(r.results[0]?.keyFingerprint).toBe(key.fingerprint);
    expect([...r.anchors.keys()]).toEqual([`${REPO}@${a.manifest.digest}`]);
    expect(r.anchors.get(`${REPO}@${a.manifest.digest}`)?.signs).toBe(IMAGE);
    expect(sigstorePayloadPaths(r.index)).toEqual(
      new Set(a.payloads.map((p) => blobEntryPath(REPO, sha256Digest(p)))),
    );
  });

  it('RSA keys verify too', () => {
    const a = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: 'quay.io/x/y', key: rsa });
    expect(run(a, { keys: [rsaKey] }).results[0]?.state).toBe('valid');
  });

  it('wrong-key: E_SIGNATURE_UNTRUSTED naming the tag; with --allow-unsigned no problem, state still shown; never an anchor', () => {
    const a = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: 'quay.io/x/y', key: rsa });
    const r = run(a);
    expect(r.results[0]?.state).toBe('wrong-key');
    expect(r.problems.map((p) => p.code)).toEqual(['E_SIGNATURE_UNTRUSTED']);
    expect(r.problems[0]?.message).toContain(sigstoreSignatureTag(IMAGE));
    expect(r.anchors.size).toBe(0);
    const allowed = run(a, { allowUnsigned: true });
    expect(allowed.problems).toEqual([]);
    expect(allowed.results[0]?.state).toBe('wrong-key');
    expect(allowed.anchors.size).toBe(0);
  });

  it('wrong-digest: validly signed for another image is E_TRUST_MISMATCH, even with --allow-unsigned', () => {
    const a = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: 'quay.io/x/y',
      key: pair,
      signatures: [{ signedDigest: OTHER }],
    });
    for (const allowUnsigned of [false, true]) {
      const r = run(a, { allowUnsigned });
      expect(r.results[0]?.state).toBe('wrong-digest');
      expect(r.problems.map((p) => p.code)).toEqual(['E_TRUST_MISMATCH']);
      expect(r.problems[0]?.message).toContain(OTHER);
      expect(r.anchors.size).toBe(0);
    }
  });

  it('malformed: a payload altered after signing, a broken annotation, a payload missing from the bundle', () => {
    const altered = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: 'quay.io/x/y',
      key: pair,
      signatures: [{ tamperPayload: (p) => Buffer.from(p.toString().replace('quay.io', 'evil.io')) }],
    });
    // the altered payload no longer verifies: no key signed these bytes
    expect(run(altered).results[0]?.state).toBe('wrong-key');
    const broken = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: 'quay.io/x/y',
      key: pair,
      signatures: [{ annotation: 'not base64!' }],
    });
    const b = run(broken);
    expect(b.results[0]?.state).toBe('malformed');
    expect(b.problems.map((p) => p.code)).toEqual(['E_SIGNATURE_INVALID']);
    const good = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: 'quay.io/x/y', key: pair });
    const missing = run(good, { dropPayload: true });
    expect(missing.results[0]?.state).toBe('malformed');
    expect(missing.results[0]?.reason).toContain('missing');
  });
});
