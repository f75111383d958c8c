import { inflateRawSync, deflateRawSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadKeyring, parseKeyring, type Keyring } from '../../src/signature/keyring.js';
import { generateKey, signAtomic } from '../../src/signature/sign.js';
import { verifySignature } from '../../src/signature/verify.js';
import { CI, CI_KEYRING, COMBINED_KEYRING, REDHAT, REDHAT_KEYRING, readSignature } from './realdata.js';
import { makeV3Message, oldPacket } from './v3-forge.js';

const OTHER_DIGEST = `sha256:${'ab'.repeat(32)}`;

let redhat: Keyring;
let ci: Keyring;
let combined: Keyring;
const rhSig = readSignature(REDHAT.digest);
const ciSig = readSignature(CI.digest);

beforeAll(async () => {
  redhat = await loadKeyring(REDHAT_KEYRING);
  ci = await loadKeyring(CI_KEYRING);
  combined = await loadKeyring(COMBINED_KEYRING);
});

/** The Red Hat message is `a3 01` + raw deflate of the inner packets. */
function rhInner(): Buffer {
  expect(rhSig.subarray(0, 2)).toEqual(Buffer.from([0xa3, 0x01]));
  return inflateRawSync(rhSig.subarray(2));
}
function rhRepack(inner: Buffer): Buffer {
  return oldPacket(8, Buffer.concat([Buffer.from([1]), deflateRawSync(inner)]), true);
}

describe('genuine release signatures', () => {
  it('accepts the Red Hat v3 signature with the Red Hat key and its digest', async () => {
    const r = await verifySignature(rhSig, [redhat], REDHAT.digest);
    expect(r).toEqual({
      ok: true,
      keyId: REDHAT.keyId,
      userId: REDHAT.userId,
      identity: REDHAT.identity,
      digest: REDHAT.digest,
      version: 3,
    });
  });

  it('accepts the openshift-ci v4 signature with the openshift-ci key and its digest', async () => {
    const r = await verifySignature(ciSig, [ci], CI.digest);
    expect(r).toEqual({
      ok: true,
      keyId: CI.keyId,
      userId: CI.userId,
      identity: CI.identity,
      digest: CI.digest,
      version: 4,
    });
  });

  it('accepts both with the combined keyring and with several keyrings', async () => {
    expect((await verifySignature(rhSig, [combined], REDHAT.digest)).ok).toBe(true);
    expect((await verifySignature(ciSig, [combined], CI.digest)).ok).toBe(true);
    expect((await verifySignature(rhSig, [ci, redhat], REDHAT.digest)).ok).toBe(true);
    expect((await verifySignature(ciSig, [redhat, ci], CI.digest)).ok).toBe(true);
  });

  it('reports what was signed when no digest is expected', async () => {
    const r = await verifySignature(rhSig, [redhat]);
    expect(r).toMatchObject({ ok: true, digest: REDHAT.digest, identity: REDHAT.identity });
  });

  it('rejects the Red Hat signature against the openshift-ci key alone, naming the key ID', async () => {
    const r = await verifySignature(rhSig, [ci], REDHAT.digest);
    expect(r.ok).toBe(false);
    expect(r.keyId).toBe(REDHAT.keyId);
    expect(r.reason).toContain(REDHAT.keyId);
    expect(r.reason).toContain('not in the keyrings');
    expect(r.identity).toBeUndefined();
  });

  it('rejects the openshift-ci signature against the Red Hat key alone, naming the key ID', async () => {
    const r = await verifySignature(ciSig, [redhat], CI.digest);
    expect(r.ok).toBe(false);
    expect(r.keyId).toBe(CI.keyId);
    expect(r.reason).toContain(CI.keyId);
    expect(r.digest).toBeUndefined();
  });

  it('rejects both with no keyrings at all', async () => {
    expect((await verifySignature(rhSig, [], REDHAT.digest)).ok).toBe(false);
    expect((await verifySignature(ciSig, [], CI.digest)).ok).toBe(false);
  });

  it('rejects each for any other digest, saying which digest it is for', async () => {
    for (const [sig, digest] of [
      [rhSig, REDHAT.digest],
      [ciSig, CI.digest],
    ] as const) {
      for (const other of [OTHER_DIGEST, sig === rhSig ? CI.digest : REDHAT.digest]) {
        const r = await verifySignature(sig, [combined], other);
        expect(r.ok).toBe(false);
        expect(r.digest).toBe(digest);
        expect(r.reason).toBe(`the signature is for ${digest}, not ${other}`);
      }
    }
  });

  it('throws for an expected digest that is not a digest (programmer error)', async () => {
    await expect(verifySignature(rhSig, [redhat], 'sha256:nope')).rejects.toSatisfy((e) =>
      isBaleError(e, 'E_REFERENCE'),
    );
  });
});

describe('tampered signatures', () => {
  it('rejects the Red Hat signature when the signed JSON is changed (recompressed)', async () => {
    const inner = rhInner();
    const at = inner.indexOf('rhel7:7.6');
    expect(at).toBeGreaterThan(0);
    const changed = Buffer.from(inner);
    changed[at + 8] = '7'.charCodeAt(0); // rhel7:7.7
    const r = await verifySignature(rhRepack(changed), [redhat], REDHAT.digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^bad signature/);
    // The unchanged packets, recompressed, still verify: the failure is the content.
    expect((await verifySignature(rhRepack(inner), [redhat], REDHAT.digest)).ok).toBe(true);
  });

  it('rejects the Red Hat signature when the RSA value is changed (hash prefix intact)', async () => {
    const inner = Buffer.from(rhInner());
    inner[inner.length - 1] = inner[inner.length - 1]! ^ 0x01;
    const r = await verifySignature(rhRepack(inner), [redhat], REDHAT.digest);
    expect(r).toMatchObject({ ok: false, reason: 'bad signature', keyId: REDHAT.keyId, version: 3 });
  });

  it('rejects the openshift-ci signature when the signed JSON is changed', async () => {
    const at = ciSig.indexOf('4.0.0-0.ci');
    const changed = Buffer.from(ciSig);
    changed[at] = '5'.charCodeAt(0);
    const r = await verifySignature(changed, [ci], CI.digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^bad signature/);
  });

  it('rejects the openshift-ci signature when the RSA value is changed', async () => {
    const changed = Buffer.from(ciSig);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0x01;
    const r = await verifySignature(changed, [ci], CI.digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^bad signature/);
  });

  // Flipping any single byte must never make a signature accept different content.
  // (A few bytes are not covered by any OpenPGP signature, such as the literal
  // packet's file name, so "still verifies, same content" is allowed.)
  for (const [name, sig, meta] of [
    ['Red Hat', rhSig, REDHAT],
    ['openshift-ci', ciSig, CI],
  ] as const) {
    it(`${name}: no single flipped byte yields a different accepted content, and never throws`, async () => {
      let rejected = 0;
      for (let i = 0; i < sig.length; i++) {
        const changed = Buffer.from(sig);
        changed[i] = changed[i]! ^ 0x20;
        const r = await verifySignature(changed, [combined], meta.digest);
        if (r.ok) {
          expect(r).toMatchObject({ digest: meta.digest, identity: meta.identity, keyId: meta.keyId });
        } else {
          rejected++;
        }
      }
      expect(rejected).toBeGreaterThan(sig.length * 0.9);
    });
  }
});

describe('malformed input', () => {
  it('rejects an empty message', async () => {
    const r = await verifySignature(new Uint8Array(0), [combined]);
    expect(r).toEqual({ ok: false, reason: 'malformed OpenPGP message: empty input' });
  });

  it('rejects every truncation of both signatures without throwing', async () => {
    for (const sig of [rhSig, ciSig]) {
      for (let len = 1; len < sig.length; len++) {
        const r = await verifySignature(sig.subarray(0, len), [combined]);
        expect(r.ok, `truncated to ${len}`).toBe(false);
        expect(r.reason).toBeTruthy();
      }
    }
  });

  it('rejects garbage: text, random bytes, a public key, an armored message', async () => {
    const inputs = [
      Buffer.from('hello, this is not a signature\n'),
      Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) & 0xff)),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      redhat.keys[0]!.write(),
      Buffer.from(
        await openpgp.sign({
          message: await openpgp.createMessage({ text: 'x' }),
          signingKeys: await openpgp.readPrivateKey({
            armoredKey: (await generateKey('a', 'a@example.com')).privateKeyArmored,
          }),
        }),
      ),
    ];
    for (const input of inputs) {
      const r = await verifySignature(input, [combined]);
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/malformed/);
    }
  });

  it('rejects a message with two signatures', async () => {
    const inner = rhInner();
    // one-pass(15) literal(…) signature: append the signature packet again
    const sigStart = inner.lastIndexOf(Buffer.from([0x89, 0x02]));
    expect(sigStart).toBeGreaterThan(0);
    const doubled = Buffer.concat([inner, inner.subarray(sigStart)]);
    const r = await verifySignature(rhRepack(doubled), [redhat]);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/packet tags \[4,11,2,2\]/);
  });

  it('rejects a decompression bomb', async () => {
    const bomb = oldPacket(
      8,
      Buffer.concat([Buffer.from([1]), deflateRawSync(Buffer.alloc(8 * 1024 * 1024))]),
      true,
    );
    const r = await verifySignature(bomb, [combined]);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/expands beyond/);
  });
});

describe('v4 signatures made by bale', () => {
  it('accepts a signature from signAtomic with the generated key only', async () => {
    const key = await generateKey('bale test', 'test@example.com');
    const keyring = await parseKeyring(key.publicKeyArmored, 'generated');
    const digest = `sha256:${'12'.repeat(32)}`;
    const sig = await signAtomic({
      digest,
      identity: 'quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64',
      privateKeyArmored: key.privateKeyArmored,
      creator: 'bale test',
      timestamp: 1_700_000_000,
    });
    expect(await verifySignature(sig, [keyring], digest)).toEqual({
      ok: true,
      keyId: key.keyId,
      userId: 'bale test <test@example.com>',
      identity: 'quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64',
      digest,
      version: 4,
    });
    expect((await verifySignature(sig, [combined], digest)).reason).toContain(key.keyId);
    expect((await verifySignature(sig, [keyring], OTHER_DIGEST)).ok).toBe(false);
  });

  it('rejects a valid OpenPGP signature over content that is not an atomic signature', async () => {
    const key = await generateKey('bale test', 'test@example.com');
    const keyring = await parseKeyring(key.publicKeyArmored, 'generated');
    const message = await openpgp.createMessage({ binary: Buffer.from('{"critical":{}}') });
    const sig = await openpgp.sign({
      message,
      signingKeys: await openpgp.readPrivateKey({ armoredKey: key.privateKeyArmored }),
      format: 'binary',
    });
    const r = await verifySignature(sig, [keyring]);
    expect(r.ok).toBe(false);
    expect(r.keyId).toBe(key.keyId);
    expect(r.reason).toMatch(/not a valid atomic container signature/);
  });

  it('rejects a signature by a revoked key', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'r' }],
      format: 'object',
    });
    const sig = await signAtomic({
      digest: OTHER_DIGEST,
      identity: 'example.com/r:1',
      privateKeyArmored: privateKey.armor(),
    });
    const { publicKey: revoked } = await openpgp.revokeKey({ key: privateKey, format: 'object' });
    const good = await verifySignature(sig, [{ source: 'k', keys: [privateKey.toPublic()] }], OTHER_DIGEST);
    expect(good.ok).toBe(true);
    const r = await verifySignature(sig, [{ source: 'k', keys: [revoked] }], OTHER_DIGEST);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/revoked/i);
  });
});

describe('v3 signatures (made with a test key)', () => {
  let key: openpgp.PrivateKey;
  let keyring: Keyring;
  const digest = OTHER_DIGEST;
  const json = Buffer.from(
    `{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"${OTHER_DIGEST}"},"identity":{"docker-reference":"example.com/a:1"}},"optional":{}}`,
  );

  beforeAll(async () => {
    ({ privateKey: key } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'v3 test' }],
      format: 'object',
      date: new Date(Date.now() - 3600_000),
    }));
    key = await key.addSubkey({
      type: 'rsa',
      rsaBits: 2048,
      sign: true,
      date: new Date(Date.now() - 3600_000),
    });
    keyring = { source: 'test', keys: [key.toPublic()] };
  });

  it('accepts a compressed and an uncompressed v3 message by the primary key', async () => {
    for (const compress of [true, false]) {
      const r = await verifySignature(
        makeV3Message({ signer: key, data: json, compress }),
        [keyring],
        digest,
      );
      expect(r).toMatchObject({
        ok: true,
        version: 3,
        keyId: key.getKeyID().toHex().toUpperCase(),
        userId: 'v3 test',
      });
    }
  });

  it('accepts a v3 signature by the signing subkey', async () => {
    const signing = key.subkeys[1]!;
    const r = await verifySignature(makeV3Message({ signer: signing, data: json }), [keyring], digest);
    expect(r).toMatchObject({ ok: true, keyId: signing.getKeyID().toHex().toUpperCase(), userId: 'v3 test' });
  });

  it('rejects a v3 signature by the encryption-only subkey', async () => {
    const encryption = key.subkeys[0]!;
    const r = await verifySignature(makeV3Message({ signer: encryption, data: json }), [keyring], digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/not a valid signing key/);
  });

  it('accepts SHA-384/512/224 and rejects SHA-1', async () => {
    for (const h of [9, 10, 11]) {
      const r = await verifySignature(
        makeV3Message({ signer: key, data: json, hashAlgorithm: h }),
        [keyring],
        digest,
      );
      expect(r.ok, `hash ${h}`).toBe(true);
    }
    const r = await verifySignature(
      makeV3Message({ signer: key, data: json, hashAlgorithm: 2 }),
      [keyring],
      digest,
    );
    expect(r).toMatchObject({ ok: false, reason: 'hash algorithm 2 is not accepted' });
  });

  it('rejects a text-mode (0x01) v3 signature', async () => {
    const r = await verifySignature(
      makeV3Message({ signer: key, data: json, signatureType: 1 }),
      [keyring],
      digest,
    );
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/signature type 0x01/);
  });

  it('rejects a v3 signature made before the key existed', async () => {
    const created = new Date(Date.now() - 7200_000);
    const r = await verifySignature(makeV3Message({ signer: key, data: json, created }), [keyring], digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/not a valid signing key/);
  });

  it('v3 and v4 alike: a signature created in the future is rejected', async () => {
    const created = new Date(Date.now() + 3600_000);
    const v3 = await verifySignature(makeV3Message({ signer: key, data: json, created }), [keyring], digest);
    expect(v3.ok).toBe(false);
    expect(v3.reason).toMatch(/in the future/);
    const v4message = await openpgp.sign({
      message: await openpgp.createMessage({ binary: json }),
      signingKeys: key,
      date: created,
      format: 'binary',
    });
    const v4 = await verifySignature(v4message, [keyring], digest);
    expect(v4.ok).toBe(false);
    expect(v4.reason).toMatch(/future/i);
    // Both accepted when checked at a time after their creation.
    const later = { now: new Date(created.getTime() + 60_000) };
    expect(
      (await verifySignature(makeV3Message({ signer: key, data: json, created }), [keyring], digest, later))
        .ok,
    ).toBe(true);
    expect((await verifySignature(v4message, [keyring], digest, later)).ok).toBe(true);
  });

  it('rejects a v3 signature by a revoked key', async () => {
    const sig = makeV3Message({ signer: key, data: json });
    const { publicKey: revoked } = await openpgp.revokeKey({ key, format: 'object' });
    const r = await verifySignature(sig, [{ source: 'revoked', keys: [revoked] }], digest);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/revoked/i);
  });

  it('rejects a v3 signature made after the key expired, accepts one made before', async () => {
    const { privateKey: expiring } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'expiring' }],
      format: 'object',
      date: new Date(Date.now() - 2 * 3600_000),
      keyExpirationTime: 3600,
    });
    const ring = { source: 'expiring', keys: [expiring.toPublic()] };
    const late = makeV3Message({ signer: expiring, data: json });
    expect((await verifySignature(late, [ring], digest)).reason).toMatch(/expired/i);
    const early = makeV3Message({
      signer: expiring,
      data: json,
      created: new Date(Date.now() - 90 * 60_000),
    });
    expect((await verifySignature(early, [ring], digest)).ok).toBe(true);
  });
});
