import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { atomicSignatureJson, parseAtomicSignature } from '../../src/signature/atomic.js';

const DIGEST = `sha256:${'0a'.repeat(32)}`;
const good = {
  critical: {
    type: 'atomic container signature',
    image: { 'docker-manifest-digest': DIGEST },
    identity: { 'docker-reference': 'quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64' },
  },
  optional: { creator: 'someone', timestamp: 1555943751 },
};

function parse(doc: unknown): ReturnType<typeof parseAtomicSignature> {
  return parseAtomicSignature(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));
}
function reject(doc: unknown, reason: RegExp): void {
  let err: unknown;
  try {
    parse(doc);
  } catch (e) {
    err = e;
  }
  expect(isBaleError(err, 'E_SIGNATURE_INVALID'), JSON.stringify(doc)).toBe(true);
  expect((err as Error).message).toMatch(reason);
}
function withCritical(change: (c: Record<string, unknown>) => void): unknown {
  const doc = structuredClone(good) as unknown as { critical: Record<string, unknown> };
  change(doc.critical);
  return doc;
}

describe('parseAtomicSignature', () => {
  it('reads a complete signature', () => {
    expect(parse(good)).toEqual({
      type: 'atomic container signature',
      digest: DIGEST,
      identity: 'quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64',
      creator: 'someone',
      timestamp: 1555943751,
    });
  });

  it('treats optional as free-form: empty, null, unknown keys', () => {
    expect(parse({ ...good, optional: {} })).not.toHaveProperty('creator');
    expect(parse({ ...good, optional: null }).digest).toBe(DIGEST);
    expect(parse({ ...good, optional: { other: [1, 2], creator: 'x' } }).creator).toBe('x');
  });

  it('round-trips what bale signs', () => {
    const json = atomicSignatureJson({ digest: DIGEST, identity: 'a/b:c', creator: 'bale', timestamp: 5 });
    expect(parseAtomicSignature(json)).toEqual({
      type: 'atomic container signature',
      digest: DIGEST,
      identity: 'a/b:c',
      creator: 'bale',
      timestamp: 5,
    });
  });

  it('rejects unknown fields in the document, critical, image and identity', () => {
    reject({ ...good, extra: 1 }, /unknown field "extra" in the document/);
    reject(
      withCritical((c) => (c.extra = 1)),
      /unknown field "extra" in critical/,
    );
    reject(
      withCritical((c) => ((c.image as Record<string, unknown>).x = 1)),
      /unknown field "x" in critical.image/,
    );
    reject(
      withCritical((c) => ((c.identity as Record<string, unknown>).x = 1)),
      /unknown field "x" in critical.identity/,
    );
  });

  it('rejects missing fields', () => {
    reject({ critical: good.critical }, /has no "optional"/);
    reject({ optional: {} }, /has no "critical"/);
    reject(
      withCritical((c) => delete c.type),
      /critical has no "type"/,
    );
    reject(
      withCritical((c) => delete c.image),
      /critical has no "image"/,
    );
    reject(
      withCritical((c) => (c.identity = {})),
      /critical.identity has no "docker-reference"/,
    );
  });

  it('rejects a wrong type, digest or identity', () => {
    reject(
      withCritical((c) => (c.type = 'Atomic container signature')),
      /critical.type/,
    );
    reject(
      withCritical((c) => (c.image = { 'docker-manifest-digest': 'sha256:abc' })),
      /not a sha256 digest/,
    );
    reject(
      withCritical((c) => (c.image = { 'docker-manifest-digest': `sha512:${'a'.repeat(128)}` })),
      /not a sha256 digest/,
    );
    reject(
      withCritical((c) => (c.image = { 'docker-manifest-digest': DIGEST.toUpperCase() })),
      /not a sha256 digest/,
    );
    reject(
      withCritical((c) => (c.identity = { 'docker-reference': '' })),
      /non-empty/,
    );
    reject(
      withCritical((c) => (c.identity = { 'docker-reference': 7 })),
      /non-empty/,
    );
    reject(
      withCritical((c) => (c.image = [DIGEST])),
      /critical.image is not an object/,
    );
  });

  it('rejects bad optional values', () => {
    reject({ ...good, optional: [] }, /optional is not an object/);
    reject({ ...good, optional: { creator: 1 } }, /creator/);
    reject({ ...good, optional: { timestamp: 1.5 } }, /timestamp/);
    reject({ ...good, optional: { timestamp: '1' } }, /timestamp/);
  });

  it('rejects duplicate keys, which JSON.parse would silently resolve', () => {
    const text = JSON.stringify(good).replace(
      '"docker-manifest-digest"',
      `"docker-manifest-digest":"sha256:${'ff'.repeat(32)}","docker-manifest-digest"`,
    );
    reject(text, /duplicate key "docker-manifest-digest"/);
  });

  it('rejects invalid JSON and invalid UTF-8', () => {
    reject('', /not valid JSON/);
    reject('{"critical": ', /not valid JSON/);
    reject(`${JSON.stringify(good)} x`, /after the JSON value/);
    expect(() => parseAtomicSignature(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(/UTF-8/);
  });
});
