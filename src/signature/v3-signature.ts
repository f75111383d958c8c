/**
 * Version 3 signature packets (RFC 4880 §5.2.2), the format Red Hat's signing service
 * still produces and openpgp.js 6 drops without a word. Parsed by hand and checked
 * with node:crypto (RSA PKCS#1 v1.5 only: the algorithm every v3 release signature
 * uses). The hash covers the literal data, then the signature type and the creation
 * time (the five "hashed" bytes); the packet carries the left 16 bits of that hash.
 */
import { createHash, createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { BaleError } from '../errors.js';

export interface V3Signature {
  signatureType: number;
  created: Date;
  /** 16 upper-case hex characters. */
  keyId: string;
  publicKeyAlgorithm: number;
  hashAlgorithm: number;
  left16: Buffer;
  /** The signature MPI's value, without its bit-count prefix. */
  mpi: Buffer;
  /** The five hashed bytes: signature type and creation time. */
  hashed: Buffer;
}

/** Hash algorithm IDs (RFC 4880 §9.4) bale accepts; MD5, SHA-1 and RIPEMD-160 are refused, as openpgp.js does. */
const HASHES: Record<number, string> = { 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
/** RSA (encrypt or sign) and RSA sign-only. */
const RSA_ALGORITHMS = new Set([1, 3]);
/** openpgp.js refuses RSA keys shorter than this (config.minRSABits). */
export const MIN_RSA_BITS = 2047;

function malformed(reason: string): BaleError {
  return new BaleError('E_SIGNATURE_INVALID', `malformed version 3 signature packet: ${reason}`, {
    hint: 'The signature file is damaged; fetch it again from the signature store.',
  });
}

export function parseV3Signature(body: Buffer): V3Signature {
  // version(1) hashedLength(1) type(1) time(4) keyId(8) pkAlgo(1) hashAlgo(1) left16(2) MPI(2+n)
  if (body.length < 21) throw malformed(`${body.length} bytes is too short`);
  if (body[0] !== 3) throw malformed(`version ${body[0]}, expected 3`);
  if (body[1] !== 5) throw malformed(`hashed material length ${body[1]}, expected 5`);
  const signatureType = body[2] as number;
  const created = new Date(body.readUInt32BE(3) * 1000);
  const keyId = body.subarray(7, 15).toString('hex').toUpperCase();
  const publicKeyAlgorithm = body[15] as number;
  const hashAlgorithm = body[16] as number;
  const left16 = body.subarray(17, 19);
  const bits = body.readUInt16BE(19);
  const length = (bits + 7) >> 3;
  if (bits === 0) throw malformed('empty signature value');
  if (body.length !== 21 + length) {
    throw malformed(`signature value of ${bits} bits needs ${length} bytes, packet has ${body.length - 21}`);
  }
  return {
    signatureType,
    created,
    keyId,
    publicKeyAlgorithm,
    hashAlgorithm,
    left16,
    mpi: body.subarray(21),
    hashed: body.subarray(2, 7),
  };
}

/** The RSA public key for node:crypto from an OpenPGP key packet's MPIs. */
export function rsaPublicKey(n: Uint8Array, e: Uint8Array): KeyObject {
  const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
}

function modulusBits(n: Uint8Array): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i) * 8 - Math.clz32(n[i] as number) + 24;
}

/**
 * Checks a v3 signature over `data` with an RSA key given by its modulus and
 * exponent. Returns undefined when the signature is good, else the reason.
 */
export function checkV3Signature(
  sig: V3Signature,
  data: Uint8Array,
  key: { n: Uint8Array; e: Uint8Array },
): string | undefined {
  if (sig.signatureType !== 0x00) {
    return `signature type 0x${sig.signatureType.toString(16).padStart(2, '0')} is not a binary document signature`;
  }
  if (!RSA_ALGORITHMS.has(sig.publicKeyAlgorithm)) {
    return `public key algorithm ${sig.publicKeyAlgorithm} is not supported in version 3 signatures (RSA only)`;
  }
  const hashName = HASHES[sig.hashAlgorithm];
  if (hashName === undefined) return `hash algorithm ${sig.hashAlgorithm} is not accepted`;
  const bits = modulusBits(key.n);
  if (bits < MIN_RSA_BITS) return `RSA key of ${bits} bits is too short`;
  const digest = createHash(hashName).update(data).update(sig.hashed).digest();
  if (!digest.subarray(0, 2).equals(sig.left16)) return 'bad signature (hash prefix does not match)';
  const modulusBytes = (bits + 7) >> 3;
  if (sig.mpi.length > modulusBytes) return 'bad signature (value longer than the key modulus)';
  // MPIs drop leading zeros; RSA verification wants the full modulus length.
  const value = Buffer.concat([Buffer.alloc(modulusBytes - sig.mpi.length), sig.mpi]);
  let good: boolean;
  try {
    good = cryptoVerify(
      hashName,
      Buffer.concat([data, sig.hashed]),
      { key: rsaPublicKey(key.n, key.e), padding: constants.RSA_PKCS1_PADDING },
      value,
    );
  } catch (err) {
    return `bad signature (${(err as Error).message})`;
  }
  return good ? undefined : 'bad signature';
}
