/**
 * Verifies a release signature: a binary OpenPGP signed message whose literal data is
 * an atomic container signature (formats.md §3).
 *
 * bale reads the packet structure itself first (packets.ts: one literal data packet,
 * one signature packet, optionally a one-pass packet, possibly compressed). Version 3
 * signature packets (Red Hat's) are checked by v3-signature.ts with node:crypto;
 * anything newer goes to openpgp.js, and the content openpgp.js verified must be
 * byte-identical to what bale's own parser found.
 *
 * The signing key is looked up by the key ID in the signature among all keyrings
 * (primary keys and subkeys) and must be a valid signing key at the signature's
 * creation time: not revoked, not expired then, signing-capable (openpgp.js's
 * getSigningKey). A key that has expired since is accepted, as GnuPG and openpgp.js do.
 *
 * A bad signature never throws: the result says why. Only programmer errors (an
 * `expectedDigest` that is not a digest) throw.
 */
import * as openpgp from 'openpgp';
import { assertDigest } from '../digest.js';
import { isBaleError, messageOf } from '../errors.js';
import { parseAtomicSignature } from './atomic.js';
import { findKeys, formatKeyId, primaryUserId, type KeyMatch, type Keyring } from './keyring.js';
import { readSignedMessage, type SignedMessage } from './packets.js';
import { checkV3Signature, parseV3Signature } from './v3-signature.js';

export interface SignatureCheck {
  ok: boolean;
  /** The signer's key ID from the signature, 16 upper-case hex characters. */
  keyId?: string;
  /** The signing key's primary user ID, once the key is known. */
  userId?: string;
  /** `docker-reference` and `docker-manifest-digest`, only once the signature checks out. */
  identity?: string;
  digest?: string;
  /** Why `ok` is false. */
  reason?: string;
  /** The signature packet version. */
  version?: 3 | 4;
}

export interface VerifyOptions {
  /** The time to check signature expiry against (default: now). */
  now?: Date;
}

interface CryptoResult {
  ok: boolean;
  keyId?: string;
  userId?: string;
  reason?: string;
  version?: 3 | 4;
  data?: Uint8Array;
}

function unknownKey(keyId: string, keyrings: readonly Keyring[]): string {
  const where = keyrings.map((k) => k.source).join(', ');
  return `signed by key ${keyId}, which is not in the keyrings (${where === '' ? 'none given' : where})`;
}

async function validAt(m: KeyMatch, date: Date): Promise<string | undefined> {
  try {
    await m.key.getSigningKey(m.match.getKeyID(), date);
    return undefined;
  } catch (err) {
    return `key ${formatKeyId(m.match.getKeyID())} is not a valid signing key at ${date.toISOString()} (${messageOf(err)})`;
  }
}

async function checkV3(msg: SignedMessage, keyrings: readonly Keyring[], now: Date): Promise<CryptoResult> {
  const sig = parseV3Signature(msg.signature);
  const base = { keyId: sig.keyId, version: 3 as const };
  // The same rule openpgp.js applies to v4 signatures: none from the future.
  if (sig.created.getTime() > now.getTime()) {
    return {
      ok: false,
      ...base,
      reason: `signature creation time ${sig.created.toISOString()} is in the future`,
    };
  }
  if (msg.onePass !== undefined) {
    const opsKeyId = msg.onePass.subarray(4, 12).toString('hex').toUpperCase();
    if (msg.onePass.length !== 13 || opsKeyId !== sig.keyId) {
      return {
        ok: false,
        ...base,
        reason: 'malformed OpenPGP message: one-pass packet does not match the signature',
      };
    }
  }
  const matches = findKeys(keyrings, sig.keyId);
  if (matches.length === 0) return { ok: false, ...base, reason: unknownKey(sig.keyId, keyrings) };
  let reason = 'bad signature';
  for (const m of matches) {
    const invalidKey = await validAt(m, sig.created);
    if (invalidKey !== undefined) {
      reason = invalidKey;
      continue;
    }
    const params = m.match.keyPacket.publicParams as { n?: Uint8Array; e?: Uint8Array };
    if (params.n === undefined || params.e === undefined) {
      reason = `key ${sig.keyId} is not an RSA key`;
      continue;
    }
    const bad = checkV3Signature(sig, msg.data, { n: params.n, e: params.e });
    if (bad === undefined) {
      return { ok: true, ...base, userId: await primaryUserId(m.key, sig.created), data: msg.data };
    }
    reason = bad;
  }
  return { ok: false, ...base, userId: await primaryUserId((matches[0] as KeyMatch).key), reason };
}

/**
 * Runs openpgp.verify with each candidate key in turn. `makeMessage` builds a fresh
 * message each time (openpgp.js messages are single-use streams).
 */
export async function verifyWithOpenpgp(
  signerKeyId: string | undefined,
  keyrings: readonly Keyring[],
  run: (key: openpgp.PublicKey) => Promise<{
    data?: Uint8Array;
    signatures: { verified: Promise<unknown>; signature: Promise<openpgp.Signature> }[];
  }>,
): Promise<CryptoResult> {
  if (signerKeyId === undefined)
    return { ok: false, version: 4, reason: 'the signature names no signer key ID' };
  const base = { keyId: signerKeyId, version: 4 as const };
  const matches = findKeys(keyrings, signerKeyId);
  if (matches.length === 0) return { ok: false, ...base, reason: unknownKey(signerKeyId, keyrings) };
  let reason = 'bad signature';
  for (const m of matches) {
    try {
      const result = await run(m.key);
      const first = result.signatures[0];
      if (result.signatures.length !== 1 || first === undefined) {
        reason = `expected one signature, found ${result.signatures.length}`;
        continue;
      }
      await first.verified;
      const signature = await first.signature;
      const created = signature.packets[0]?.created ?? undefined;
      return {
        ok: true,
        ...base,
        userId: await primaryUserId(m.key, created ?? undefined),
        ...(result.data === undefined ? {} : { data: result.data }),
      };
    } catch (err) {
      reason = `bad signature (${messageOf(err)})`;
    }
  }
  return { ok: false, ...base, userId: await primaryUserId((matches[0] as KeyMatch).key), reason };
}

async function checkV4(
  message: Uint8Array,
  parsed: SignedMessage,
  keyrings: readonly Keyring[],
  now: Date,
): Promise<CryptoResult> {
  let signerKeyId: string | undefined;
  try {
    const msg = await openpgp.readMessage({ binaryMessage: message });
    const ids = msg.getSigningKeyIDs();
    if (ids.length !== 1 || ids[0] === undefined) {
      return { ok: false, version: 4, reason: `malformed OpenPGP message: ${ids.length} signer key IDs` };
    }
    signerKeyId = formatKeyId(ids[0]);
  } catch (err) {
    return { ok: false, version: 4, reason: `malformed OpenPGP message: ${messageOf(err)}` };
  }
  const result = await verifyWithOpenpgp(signerKeyId, keyrings, async (key) => {
    const msg = await openpgp.readMessage({ binaryMessage: message });
    return openpgp.verify({
      message: msg,
      verificationKeys: key,
      format: 'binary',
      date: now,
      expectSigned: false,
    });
  });
  if (result.ok && (result.data === undefined || !Buffer.from(result.data).equals(parsed.data))) {
    return { ...result, ok: false, reason: 'malformed OpenPGP message: the signed content is ambiguous' };
  }
  return result;
}

export async function verifySignature(
  message: Uint8Array,
  keyrings: Keyring[],
  expectedDigest?: string,
  options: VerifyOptions = {},
): Promise<SignatureCheck> {
  if (expectedDigest !== undefined) assertDigest(expectedDigest, 'expected digest');
  const now = options.now ?? new Date();
  let crypto: CryptoResult;
  try {
    const parsed = readSignedMessage(message);
    const version = parsed.signature[0];
    if (version === 3) {
      crypto = await checkV3(parsed, keyrings, now);
    } else if (version === 4) {
      crypto = await checkV4(message, parsed, keyrings, now);
    } else {
      return { ok: false, reason: `signature packet version ${version} is not supported` };
    }
  } catch (err) {
    if (isBaleError(err, 'E_SIGNATURE_INVALID')) return { ok: false, reason: err.message };
    throw err;
  }
  const { data, ...check } = crypto;
  if (!check.ok || data === undefined) return { ...check, ok: false };
  let atomic;
  try {
    atomic = parseAtomicSignature(data);
  } catch (err) {
    return { ...check, ok: false, reason: messageOf(err) };
  }
  const signed = { ...check, identity: atomic.identity, digest: atomic.digest };
  if (expectedDigest !== undefined && atomic.digest !== expectedDigest) {
    return { ...signed, ok: false, reason: `the signature is for ${atomic.digest}, not ${expectedDigest}` };
  }
  return { ...signed, ok: true };
}
