/**
 * Making signatures: a throwaway key for fixtures and tests, release signatures in
 * the signature store's format (a non-armored signed message whose literal data is
 * the atomic container signature JSON, no compression), and armored detached
 * signatures (bundle.json.asc).
 *
 * Keys are RSA 2048: the cluster-version operator's verifier
 * (golang.org/x/crypto/openpgp) does not handle EdDSA keys, and node:crypto makes
 * RSA keys in well under a second.
 */
import * as openpgp from 'openpgp';
import { assertDigest } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import { atomicSignatureJson } from './atomic.js';
import { formatKeyId, type Keyring } from './keyring.js';
import { verifyWithOpenpgp, type SignatureCheck } from './verify.js';

export async function generateKey(
  name: string,
  email: string,
): Promise<{ privateKeyArmored: string; publicKeyArmored: string; keyId: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: 2048,
    userIDs: [{ name, email }],
    format: 'object',
  });
  return {
    privateKeyArmored: privateKey.armor(),
    publicKeyArmored: publicKey.armor(),
    keyId: formatKeyId(privateKey.getKeyID()),
  };
}

async function readPrivateKey(armored: string): Promise<openpgp.PrivateKey> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (err) {
    throw new BaleError(
      'E_KEYRING',
      `the signing key is not an armored OpenPGP private key (${messageOf(err)})`,
      {
        hint: 'Pass an armored private key, such as one exported with gpg --export-secret-keys --armor.',
        cause: err,
      },
    );
  }
  if (!key.isDecrypted()) {
    throw new BaleError(
      'E_KEYRING',
      `the signing key ${formatKeyId(key.getKeyID())} is protected by a passphrase`,
      {
        hint: 'Export the key without a passphrase for signing (gpg --export-secret-keys --armor after removing it with gpg --edit-key … passwd), and keep that file safe.',
      },
    );
  }
  return key;
}

/** A release signature exactly like the ones in a signature store (`signature-N`). */
export async function signAtomic(opts: {
  digest: string;
  identity: string;
  privateKeyArmored: string;
  creator?: string;
  /** optional.timestamp, seconds since the epoch (default: now). The OpenPGP signature's own creation time is always now. */
  timestamp?: number;
}): Promise<Buffer> {
  assertDigest(opts.digest);
  if (opts.identity === '') {
    throw new BaleError('E_USAGE', 'a release signature needs a non-empty identity (docker-reference)', {
      hint: 'Pass the release pull spec the signature is for.',
    });
  }
  const key = await readPrivateKey(opts.privateKeyArmored);
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const json = atomicSignatureJson({
    digest: opts.digest,
    identity: opts.identity,
    ...(opts.creator === undefined ? {} : { creator: opts.creator }),
    timestamp,
  });
  const message = await openpgp.createMessage({ binary: json, format: 'binary' });
  const signed = await openpgp.sign({ message, signingKeys: key, format: 'binary' });
  return Buffer.from(signed);
}

/** An armored detached signature over `data`. */
export async function signDetached(data: Uint8Array, privateKeyArmored: string): Promise<string> {
  const key = await readPrivateKey(privateKeyArmored);
  const message = await openpgp.createMessage({ binary: data, format: 'binary' });
  return openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored' });
}

/** Checks an armored detached signature over `data` (identity and digest stay unset). */
export async function verifyDetached(
  data: Uint8Array,
  signatureArmored: string,
  keyrings: Keyring[],
  options: { now?: Date } = {},
): Promise<SignatureCheck> {
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: signatureArmored });
  } catch (err) {
    return { ok: false, reason: `malformed detached signature: ${messageOf(err)}` };
  }
  const ids = signature.getSigningKeyIDs();
  if (signature.packets.length !== 1 || ids.length !== 1 || ids[0] === undefined) {
    return {
      ok: false,
      reason: `malformed detached signature: expected one signature, found ${signature.packets.length}`,
    };
  }
  const { data: _data, ...check } = await verifyWithOpenpgp(formatKeyId(ids[0]), keyrings, async (key) => {
    const message = await openpgp.createMessage({ binary: data, format: 'binary' });
    return openpgp.verify({
      message,
      signature,
      verificationKeys: key,
      format: 'binary',
      date: options.now ?? new Date(),
    });
  });
  return check;
}
