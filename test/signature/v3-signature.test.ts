/**
 * bale's own parser and checker for version 3 signature packets (RFC 4880 §5.2.2),
 * on the genuine Red Hat v3 signature and key from fixtures/data: the packet parsed,
 * the signature checked with node:crypto, and hostile packets (every truncation, every
 * single-byte change, other algorithms, short keys) refused with a reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { findKeys, loadKeyring } from '../../src/signature/keyring.js';
import { readSignedMessage } from '../../src/signature/packets.js';
import {
  checkV3Signature,
  MIN_RSA_BITS,
  parseV3Signature,
  rsaPublicKey,
  type V3Signature,
} from '../../src/signature/v3-signature.js';
import { REDHAT, REDHAT_KEYRING, readSignature } from './realdata.js';

function throwsInvalid(f: () => unknown, reason: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isBaleError(err, 'E_SIGNATURE_INVALID')).toBe(true);
  expect((err as Error).message).toMatch(/^malformed version 3 signature packet: /);
  expect((err as Error).message).toMatch(reason);
  expect((err as { hint?: string }).hint).toMatch(/fetch it again/);
}

const message = readSignedMessage(readSignature(REDHAT.digest));
const body = message.signature;
const data = message.data;
let key: { n: Uint8Array; e: Uint8Array };

beforeAll(async () => {
  const ring = await loadKeyring(REDHAT_KEYRING);
  const m = findKeys([ring], REDHAT.keyId)[0];
  if (!m) throw new Error('fixture: the Red Hat key is not in its keyring');
  key = m.match.keyPacket.publicParams as unknown as { n: Uint8Array; e: Uint8Array };
});

describe('parseV3Signature', () => {
  it('parses the genuine Red Hat packet', () => {
    const sig = parseV3Signature(body);
    expect(sig.signatureType).toBe(0);
    expect(sig.keyId).toBe(REDHAT.keyId);
    expect(sig.publicKeyAlgorithm).toBe(1);
    expect(sig.hashAlgorithm).toBe(8);
    expect(sig.hashed).toEqual(body.subarray(2, 7));
    expect(sig.created.getTime()).toBe(body.readUInt32BE(3) * 1000);
    expect(sig.mpi.length).toBe(512);
  });

  it('rejects other versions, hashed lengths and a wrong MPI length', () => {
    const v4 = Buffer.from(body);
    v4[0] = 4;
    throwsInvalid(() => parseV3Signature(v4), /version 4/);
    const hl = Buffer.from(body);
    hl[1] = 6;
    throwsInvalid(() => parseV3Signature(hl), /hashed material length 6/);
    throwsInvalid(() => parseV3Signature(body.subarray(0, body.length - 1)), /needs 512 bytes/);
    throwsInvalid(() => parseV3Signature(Buffer.concat([body, Buffer.from([0])])), /needs 512 bytes/);
    throwsInvalid(() => parseV3Signature(body.subarray(0, 10)), /too short/);
  });

  it('rejects an empty signature value', () => {
    const zero = Buffer.from(body.subarray(0, 21));
    zero.writeUInt16BE(0, 19);
    throwsInvalid(() => parseV3Signature(zero), /empty signature value/);
  });

  it('every truncation of the packet, byte by byte, is refused with E_SIGNATURE_INVALID', () => {
    for (let n = 0; n < body.length; n++) {
      let err: unknown;
      try {
        parseV3Signature(body.subarray(0, n));
      } catch (e) {
        err = e;
      }
      expect(isBaleError(err, 'E_SIGNATURE_INVALID'), `prefix of ${n} bytes`).toBe(true);
    }
  });
});

describe('checkV3Signature', () => {
  it('accepts the genuine Red Hat signature over its literal data with the Red Hat key', () => {
    expect(checkV3Signature(parseV3Signature(body), data, key)).toBeUndefined();
  });

  it('rejects the signature over other data: the hash prefix already differs', () => {
    const other = Buffer.from(data);
    other[other.length - 2] = (other[other.length - 2] ?? 0) ^ 1;
    expect(checkV3Signature(parseV3Signature(body), other, key)).toMatch(/^bad signature/);
  });

  it('no single-byte change of the packet is accepted: each is refused by the parser or the check', () => {
    let parsed = 0;
    for (let i = 0; i < body.length; i++) {
      // Bytes 7-14 are the issuer key ID: not signed in v3, it only selects the key (a
      // changed one finds no key in verify.ts, or the wrong key, which fails below).
      if (i >= 7 && i < 15) continue;
      const hostile = Buffer.from(body);
      hostile[i] = (hostile[i] ?? 0) ^ 0x01;
      let sig: V3Signature;
      try {
        sig = parseV3Signature(hostile);
      } catch (err) {
        expect(isBaleError(err, 'E_SIGNATURE_INVALID'), `byte ${i}`).toBe(true);
        continue;
      }
      parsed++;
      if (i === 19 || i === 20) {
        // The MPI's bit count is not signed: one that still needs 512 bytes reads the very
        // same signature value, so it checks (the bytes vouched for are unchanged).
        expect(sig.mpi.equals(parseV3Signature(body).mpi), `byte ${i}`).toBe(true);
        continue;
      }
      expect(checkV3Signature(sig, data, key), `byte ${i}`).toBeTypeOf('string');
    }
    expect(parsed).toBeGreaterThan(500);
    // With the key ID changed, the packet still names the signature made by this key.
    const renamed = Buffer.from(body);
    renamed[10] = (renamed[10] ?? 0) ^ 1;
    expect(parseV3Signature(renamed).keyId).not.toBe(REDHAT.keyId);
  });

  it('a signature value with a leading zero byte dropped (as MPIs do) is padded, and an overlong one refused', () => {
    const sig = parseV3Signature(body);
    const longer = { ...sig, mpi: Buffer.concat([Buffer.from([1]), sig.mpi]) };
    expect(checkV3Signature(longer, data, key)).toBe('bad signature (value longer than the key modulus)');
    const shorter = { ...sig, mpi: sig.mpi.subarray(1) };
    expect(checkV3Signature(shorter, data, key)).toMatch(/^bad signature/);
  });

  it.each([
    ['a text signature', { signatureType: 0x01 }, 'signature type 0x01 is not a binary document signature'],
    [
      'a DSA signature',
      { publicKeyAlgorithm: 17 },
      'public key algorithm 17 is not supported in version 3 signatures (RSA only)',
    ],
    ['SHA-1', { hashAlgorithm: 2 }, 'hash algorithm 2 is not accepted'],
    ['MD5', { hashAlgorithm: 1 }, 'hash algorithm 1 is not accepted'],
  ])('refuses %s', (_what, over, reason) => {
    expect(checkV3Signature({ ...parseV3Signature(body), ...over }, data, key)).toBe(reason);
  });

  it('accepts RSA sign-only (algorithm 3) the same as RSA', () => {
    expect(checkV3Signature({ ...parseV3Signature(body), publicKeyAlgorithm: 3 }, data, key)).toBeUndefined();
  });

  it('refuses a key shorter than openpgp.js accepts, and one with an all-zero modulus', () => {
    const sig = parseV3Signature(body);
    const short = { n: Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(127, 0xff)]), e: key.e };
    expect(checkV3Signature(sig, data, short)).toBe(`RSA key of 1016 bits is too short`);
    expect(MIN_RSA_BITS).toBe(2047);
    expect(checkV3Signature(sig, data, { n: Buffer.alloc(8), e: key.e })).toBe(
      'RSA key of 0 bits is too short',
    );
  });

  it('refuses the signature under another 4096-bit key', () => {
    const other = Buffer.from(key.n);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 0x02;
    const r = checkV3Signature(parseV3Signature(body), data, { n: other, e: key.e });
    expect(r).toMatch(/^bad signature/);
  });
});

describe('rsaPublicKey', () => {
  it('builds a node:crypto RSA key of the modulus size', () => {
    const k = rsaPublicKey(key.n, key.e);
    expect(k.asymmetricKeyType).toBe('rsa');
    expect(k.asymmetricKeyDetails?.modulusLength).toBe(4096);
  });
});
