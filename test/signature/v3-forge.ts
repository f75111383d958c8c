/**
 * Makes version 3 signed messages with a test key, the way Red Hat's signing service
 * does (one-pass, literal, v3 signature, optionally inside an old-format compressed
 * packet), so the v3 path can be tested beyond the one genuine sample.
 */
import { createHash, createPrivateKey, sign as cryptoSign, constants } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type * as openpgp from 'openpgp';

const HASH_NAMES: Record<number, string> = {
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};

function big(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
}
function bytes(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

/** An old-format packet with a 2-byte length (or indeterminate length). */
export function oldPacket(tag: number, body: Buffer, indeterminate = false): Buffer {
  if (indeterminate) return Buffer.concat([Buffer.from([0x80 | (tag << 2) | 3]), body]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([Buffer.from([0x80 | (tag << 2) | 1]), len, body]);
}

export interface V3Options {
  /** The key or subkey (decrypted, RSA) to sign with. */
  signer: openpgp.PrivateKey | openpgp.Subkey;
  data: Buffer;
  signatureType?: number;
  hashAlgorithm?: number;
  created?: Date;
  compress?: boolean;
}

export function makeV3Message(opts: V3Options): Buffer {
  const packet = opts.signer.keyPacket as unknown as {
    publicParams: { n: Uint8Array; e: Uint8Array };
    privateParams: { d: Uint8Array; p: Uint8Array; q: Uint8Array };
  };
  const { n, e } = packet.publicParams;
  const { d, p, q } = packet.privateParams;
  const [D, P, Q] = [big(d), big(p), big(q)];
  const b64 = (x: Uint8Array): string => Buffer.from(x).toString('base64url');
  const key = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'RSA',
      n: b64(n),
      e: b64(e),
      d: b64(d),
      p: b64(p),
      q: b64(q),
      dp: b64(bytes(D % (P - 1n))),
      dq: b64(bytes(D % (Q - 1n))),
      qi: b64(bytes(modInverse(Q, P))),
    },
  });
  const sigType = opts.signatureType ?? 0;
  const hashAlgo = opts.hashAlgorithm ?? 8;
  const hashName = HASH_NAMES[hashAlgo] ?? 'sha256';
  const created = Math.floor((opts.created ?? new Date()).getTime() / 1000);
  const hashed = Buffer.alloc(5);
  hashed[0] = sigType;
  hashed.writeUInt32BE(created, 1);
  const keyId = Buffer.from(opts.signer.getKeyID().toHex(), 'hex');
  const digest = createHash(hashName).update(opts.data).update(hashed).digest();
  const value = cryptoSign(hashName, Buffer.concat([opts.data, hashed]), {
    key,
    padding: constants.RSA_PKCS1_PADDING,
  });
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const mpiValue = value.subarray(start);
  const bits = mpiValue.length * 8 - (Math.clz32(mpiValue[0] as number) - 24);
  const mpiHead = Buffer.alloc(2);
  mpiHead.writeUInt16BE(bits);
  const sigBody = Buffer.concat([
    Buffer.from([3, 5]),
    hashed,
    keyId,
    Buffer.from([1, hashAlgo]),
    digest.subarray(0, 2),
    mpiHead,
    mpiValue,
  ]);
  const onePass = Buffer.concat([Buffer.from([3, sigType, hashAlgo, 1]), keyId, Buffer.from([1])]);
  const literal = Buffer.concat([Buffer.from([0x62, 4]), Buffer.from('test'), Buffer.alloc(4), opts.data]);
  const inner = Buffer.concat([oldPacket(4, onePass), oldPacket(11, literal), oldPacket(2, sigBody)]);
  if (opts.compress === false) return inner;
  return oldPacket(8, Buffer.concat([Buffer.from([1]), deflateRawSync(inner)]), true);
}
