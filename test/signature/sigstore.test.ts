/**
 * Sigstore (cosign) signature parsing and offline verification, with per-run keys
 * (ECDSA P-256 and RSA) and artifacts built in the cosign format by fixtures/sigstore.ts.
 */
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/digest.js';
import { BaleError } from '../../src/errors.js';
import { parseSigstoreKey, type SigstoreKey } from '../../src/signature/sigstore-key.js';
import {
  anySigstoreValid,
  imageDigestOfSignatureTag,
  parseSigstoreManifest,
  parseSimpleSigningPayload,
  SIGSTORE_LIMITS,
  sigstoreSignatureTag,
  verifySigstoreSignatures,
} from '../../src/signature/sigstore.js';
import {
  buildSigstoreArtifact,
  generateSigstoreKeyPair,
  simpleSigningPayload,
  type SigstoreArtifact,
  type SigstoreKeyPair,
} from '../../fixtures/sigstore.js';

const IMAGE = sha256Digest('the release image manifest');
const OTHER = sha256Digest('another image manifest');
const REF = 'quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64';

const ecdsa = generateSigstoreKeyPair('ecdsa-p256');
const rsa = generateSigstoreKeyPair('rsa');
const stranger = generateSigstoreKeyPair('ecdsa-p256');
const publicKey = (pair: SigstoreKeyPair, name: string): SigstoreKey =>
  parseSigstoreKey(pair.publicKeyPem, name);

function verify(
  artifact: SigstoreArtifact,
  keys: SigstoreKey[],
  imageDigest = IMAGE,
): ReturnType<typeof verifySigstoreSignatures> {
  return verifySigstoreSignatures({
    manifest: artifact.manifest.bytes,
    payloads: artifact.blobs,
    keys,
    imageDigest,
  });
}

function thrown(fn: () => unknown): BaleError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BaleError);
    return e as BaleError;
  }
  throw new Error('expected a BaleError');
}

describe('sigstore signature tags', () => {
  it('maps a digest to sha256-<hex>.sig and back', () => {
    const tag = sigstoreSignatureTag(IMAGE);
    expect(tag).toBe(`sha256-${IMAGE.slice(7)}.sig`);
    expect(imageDigestOfSignatureTag(tag)).toBe(IMAGE);
    expect(imageDigestOfSignatureTag('4.21.0-x86_64')).toBeUndefined();
    expect(thrown(() => sigstoreSignatureTag('sha256:abc')).code).toBe('E_REFERENCE');
  });
});

describe('verifySigstoreSignatures', () => {
  it.each([
    ['ECDSA P-256', ecdsa],
    ['RSA', rsa],
  ])('accepts a cosign signature made with a %s key', (_name, pair) => {
    const artifact = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: REF, key: pair });
    const key = publicKey(pair, 'cosign.pub');
    const [check, ...rest] = verify(artifact, [key]);
    expect(rest).toEqual([]);
    expect(check).toEqual({
      layerDigest: sha256Digest(artifact.payloads[0] ?? Buffer.alloc(0)),
      state: 'valid',
      keyFingerprint: key.fingerprint,
      keySource: 'cosign.pub',
      dockerReference: REF,
      signedDigest: IMAGE,
    });
    expect(anySigstoreValid([check!])).toBe(true);
  });

  it('reports wrong-key for a signature by a key that was not given', () => {
    const artifact = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: REF, key: stranger });
    const [check] = verify(artifact, [publicKey(ecdsa, 'ours.pub'), publicKey(rsa, 'rsa.pub')]);
    expect(check?.state).toBe('wrong-key');
    expect(check?.reason).toContain('any of the 2 given keys');
    expect(check?.keyFingerprint).toBeUndefined();
    expect(anySigstoreValid(check ? [check] : [])).toBe(false);
  });

  it('reports wrong-digest for a genuine signature of another image', () => {
    const artifact = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: REF,
      key: ecdsa,
      signatures: [{ signedDigest: OTHER }],
    });
    const [check] = verify(artifact, [publicKey(ecdsa, 'k')]);
    expect(check?.state).toBe('wrong-digest');
    expect(check?.signedDigest).toBe(OTHER);
    expect(check?.reason).toContain(OTHER);
    expect(check?.reason).toContain(IMAGE);
  });

  it('reports wrong-key when the payload was altered after signing (descriptor updated to match)', () => {
    const artifact = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: REF,
      key: ecdsa,
      signatures: [
        { tamperPayload: (p) => Buffer.from(p.toString().replace(REF, 'evil.example/ocp:4.21.0')) },
      ],
    });
    const [check] = verify(artifact, [publicKey(ecdsa, 'k')]);
    expect(check?.state).toBe('wrong-key');
    expect(check?.dockerReference).toBe('evil.example/ocp:4.21.0');
  });

  it('reports malformed when the payload blob does not match its descriptor', () => {
    const artifact = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: REF, key: ecdsa });
    const layerDigest = sha256Digest(artifact.payloads[0] ?? Buffer.alloc(0));
    const swapped = new Map(artifact.blobs);
    swapped.set(layerDigest, simpleSigningPayload(REF, OTHER));
    const [check] = verifySigstoreSignatures({
      manifest: artifact.manifest.bytes,
      payloads: swapped,
      keys: [publicKey(ecdsa, 'k')],
      imageDigest: IMAGE,
    });
    expect(check).toMatchObject({
      state: 'malformed',
      reason: expect.stringContaining('do not match') as string,
    });
    const [missing] = verifySigstoreSignatures({
      manifest: artifact.manifest.bytes,
      payloads: new Map(),
      keys: [publicKey(ecdsa, 'k')],
      imageDigest: IMAGE,
    });
    expect(missing).toMatchObject({
      state: 'malformed',
      reason: expect.stringContaining('missing') as string,
    });
  });

  it.each([
    ['no annotation', null, 'no dev.cosignproject.cosign/signature annotation'],
    ['not base64', '%%% not base64 %%%', 'not base64'],
    ['empty', '', 'empty'],
    ['too long', 'A'.repeat(SIGSTORE_LIMITS.signatureChars + 4), 'longer than'],
    ['base64 of garbage', Buffer.from('garbage').toString('base64'), ''],
  ])('handles a signature annotation that is %s', (name, annotation, reason) => {
    const artifact = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: REF,
      key: ecdsa,
      signatures: [{ annotation }],
    });
    const [check] = verify(artifact, [publicKey(ecdsa, 'k')]);
    // Garbage that decodes is simply a signature that does not verify.
    expect(check?.state).toBe(name === 'base64 of garbage' ? 'wrong-key' : 'malformed');
    expect(check?.reason).toContain(reason);
  });

  it('gives each layer its own state, so one bad signature does not hide a good one', () => {
    const artifact = buildSigstoreArtifact({
      imageDigest: IMAGE,
      dockerReference: REF,
      key: ecdsa,
      signatures: [{ key: stranger }, { annotation: null }, { signedDigest: OTHER }, {}],
    });
    const checks = verify(artifact, [publicKey(ecdsa, 'k')]);
    expect(checks.map((c) => c.state)).toEqual(['wrong-key', 'malformed', 'wrong-digest', 'valid']);
    expect(anySigstoreValid(checks)).toBe(true);
  });

  it('refuses to verify without a key or with a bad image digest', () => {
    const artifact = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: REF, key: ecdsa });
    expect(thrown(() => verify(artifact, [])).code).toBe('E_KEYRING');
    expect(thrown(() => verify(artifact, [publicKey(ecdsa, 'k')], 'latest')).code).toBe('E_REFERENCE');
  });
});

describe('parseSigstoreManifest (hostile manifests)', () => {
  const good = buildSigstoreArtifact({ imageDigest: IMAGE, dockerReference: REF, key: ecdsa });
  const goodJson = JSON.parse(good.manifest.bytes.toString()) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>): Buffer =>
    Buffer.from(JSON.stringify({ ...goodJson, ...patch }));

  it.each([
    ['not JSON', Buffer.from('{"schemaVersion":2,'), 'not valid JSON'],
    ['a duplicate key', Buffer.from('{"schemaVersion":2,"schemaVersion":2}'), 'duplicate key'],
    ['an index', variant({ mediaType: 'application/vnd.oci.image.index.v1+json' }), 'not an image manifest'],
    ['schema 1', variant({ schemaVersion: 1 }), 'schemaVersion is 1'],
    ['no layers', variant({ layers: [] }), 'has no layers'],
    [
      'too many layers',
      variant({ layers: new Array(65).fill((goodJson.layers as unknown[])[0]) }),
      'more than 64',
    ],
    ['a bad config', variant({ config: { digest: 'sha256:1', size: 2, mediaType: 'x' } }), 'config.digest'],
    [
      'a negative layer size',
      variant({ layers: [{ mediaType: 'x', digest: IMAGE, size: -1 }] }),
      'layers[0].size',
    ],
    ['too large', Buffer.alloc(SIGSTORE_LIMITS.manifestBytes + 1, 0x20), 'larger than'],
  ])('refuses a manifest with %s', (_name, bytes, message) => {
    const err = thrown(() => parseSigstoreManifest(bytes, 'repo:sha256-x.sig'));
    expect(err.code).toBe('E_SIGNATURE_INVALID');
    expect(err.message).toContain(message);
    expect(err.message).toContain('repo:sha256-x.sig');
    expect(err.hint).toBeTruthy();
  });

  it('marks a layer of another media type or an oversized payload as malformed', () => {
    const layer = (goodJson.layers as Record<string, unknown>[])[0] ?? {};
    const m = parseSigstoreManifest(
      variant({
        layers: [
          { ...layer, mediaType: 'application/vnd.in-toto+json' },
          { ...layer, size: SIGSTORE_LIMITS.payloadBytes + 1 },
        ],
      }),
    );
    expect(m.layers.map((l) => (Buffer.isBuffer(l.signature) ? 'ok' : l.signature.malformed))).toEqual([
      expect.stringContaining('application/vnd.in-toto+json'),
      expect.stringContaining('larger than'),
    ]);
  });

  it('reads the same manifest fed from a byte-identical copy (no hidden state)', () => {
    const a = parseSigstoreManifest(good.manifest.bytes);
    const b = parseSigstoreManifest(Buffer.from(good.manifest.bytes));
    expect(a).toEqual(b);
  });
});

describe('parseSimpleSigningPayload', () => {
  const base = JSON.parse(simpleSigningPayload(REF, IMAGE).toString()) as {
    critical: Record<string, Record<string, unknown> | string>;
    optional: unknown;
  };
  const payload = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

  it('reads the cosign payload', () => {
    expect(parseSimpleSigningPayload(simpleSigningPayload(REF, IMAGE))).toEqual({
      dockerReference: REF,
      manifestDigest: IMAGE,
      optional: null,
    });
    const withOptional = parseSimpleSigningPayload(payload({ ...base, optional: { creator: 'cosign' } }));
    expect(withOptional.optional).toEqual({ creator: 'cosign' });
  });

  it.each([
    [
      'an atomic (OpenPGP) type',
      { ...base, critical: { ...base.critical, type: 'atomic container signature' } },
      'critical.type',
    ],
    [
      'an unknown critical field',
      { ...base, critical: { ...base.critical, extra: 1 } },
      'unknown field critical.extra',
    ],
    ['an unknown top-level field', { ...base, extra: 1 }, 'unknown field extra'],
    [
      'no image',
      { ...base, critical: { identity: base.critical.identity, type: base.critical.type } },
      'missing critical.image',
    ],
    [
      'a capitalised digest key',
      { ...base, critical: { ...base.critical, image: { 'Docker-manifest-digest': IMAGE } } },
      'unknown field critical.image',
    ],
    [
      'a bad digest',
      { ...base, critical: { ...base.critical, image: { 'docker-manifest-digest': 'sha256:00' } } },
      'not a sha256 digest',
    ],
    ['a string optional', { ...base, optional: 'x' }, 'optional'],
  ])('refuses a payload with %s', (_name, value, message) => {
    expect(() => parseSimpleSigningPayload(payload(value))).toThrow(message);
  });

  it('refuses duplicate keys, which two readers could read two ways', () => {
    const text = simpleSigningPayload(REF, IMAGE)
      .toString()
      .replace('"docker-manifest-digest":', `"docker-manifest-digest":"${OTHER}","docker-manifest-digest":`);
    expect(() => parseSimpleSigningPayload(Buffer.from(text))).toThrow('duplicate key');
  });
});
