/**
 * Public keys for Sigstore (cosign) signatures: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo),
 * as `cosign generate-key-pair` writes to `cosign.pub` and as Red Hat publishes the
 * release key in the default `openshift` ClusterImagePolicy. ECDSA on P-256 and RSA
 * (2048 bits or more) are accepted; every other key type, curve, a private key or a
 * certificate is refused with a message that says which.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shippedFile } from '../shipped-file.js';
import { BaleError, messageOf } from '../errors.js';

export type SigstoreKeyAlgorithm = 'ecdsa-p256' | 'rsa';

export interface SigstoreKey {
  /** Where the key came from (a path), for messages. */
  source: string;
  algorithm: SigstoreKeyAlgorithm;
  /** `sha256:<hex>` of the DER SubjectPublicKeyInfo: stable, comparable across files. */
  fingerprint: string;
  key: KeyObject;
}

/** A PEM public key is a few hundred bytes; anything this large is not one. */
export const MAX_SIGSTORE_KEY_BYTES = 64 * 1024;
export const MIN_RSA_BITS = 2048;

const DEFAULT_KEY = join('keys', 'redhat-release-sigstore.pub');
const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function keyError(source: string, what: string, hint?: string, cause?: unknown): BaleError {
  return new BaleError('E_KEYRING', `Sigstore public key ${source}: ${what}`, {
    hint:
      hint ??
      'Pass a PEM public key ("-----BEGIN PUBLIC KEY-----"), ECDSA P-256 or RSA, such as the cosign.pub that cosign generate-key-pair writes.',
    cause,
    details: { key: source },
  });
}

export async function loadSigstoreKey(path: string): Promise<SigstoreKey> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw keyError(
      path,
      `cannot read it (${messageOf(err)})`,
      'Check the path given with --sigstore-key.',
      err,
    );
  }
  return parseSigstoreKey(data, path);
}

export function parseSigstoreKey(data: Uint8Array | string, source: string): SigstoreKey {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size === 0) throw keyError(source, 'the file is empty');
  if (size > MAX_SIGSTORE_KEY_BYTES) throw keyError(source, `larger than ${MAX_SIGSTORE_KEY_BYTES} bytes`);
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN PGP')) {
    throw keyError(
      source,
      'this is an OpenPGP key, not a Sigstore public key',
      'OpenPGP release keys go to --keyring; --sigstore-key takes a PEM public key.',
    );
  }
  const blocks = [...text.matchAll(PEM_BLOCK_RE)];
  if (blocks.length === 0) throw keyError(source, 'no PEM block found');
  if (blocks.length > 1) throw keyError(source, `holds ${blocks.length} PEM blocks, expected one public key`);
  const label = blocks[0]?.[1] ?? '';
  if (label.includes('PRIVATE')) {
    throw keyError(
      source,
      'this is a private key',
      'Give the public half only (cosign public-key --key cosign.key > cosign.pub); never copy a private key to the media.',
    );
  }
  if (label === 'CERTIFICATE') {
    throw keyError(source, 'this is a certificate; keyless (certificate-based) signatures are not supported');
  }
  if (label !== 'PUBLIC KEY') throw keyError(source, `unsupported PEM block "${label}", expected PUBLIC KEY`);

  let key: KeyObject;
  try {
    key = createPublicKey({ key: blocks[0]?.[0] ?? '', format: 'pem' });
  } catch (err) {
    throw keyError(source, `not a readable public key (${messageOf(err)})`, undefined, err);
  }
  const algorithm = checkAlgorithm(key, source);
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    source,
    algorithm,
    fingerprint: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    key,
  };
}

function checkAlgorithm(key: KeyObject, source: string): SigstoreKeyAlgorithm {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    if (details.namedCurve !== 'prime256v1') {
      throw keyError(
        source,
        `ECDSA key on curve ${details.namedCurve ?? 'unknown'}; only P-256 (prime256v1) is supported`,
      );
    }
    return 'ecdsa-p256';
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw keyError(source, `RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    return 'rsa';
  }
  throw keyError(source, `${type ?? 'unknown'} keys are not supported; use ECDSA P-256 or RSA`);
}

/**
 * keys/redhat-release-sigstore.pub shipped with bale (Red Hat's public key for the
 * Sigstore signatures of OpenShift release images; see keys/README.md), found by
 * walking up from this module as defaultKeyringPath does.
 */
export function defaultSigstoreKeyPath(): string {
  const path = shippedFile(DEFAULT_KEY);
  if (path !== undefined) return path;
  throw new BaleError(
    'E_KEYRING',
    `bale's default Sigstore key ${DEFAULT_KEY} is missing from the installation`,
    {
      hint: 'Reinstall bale, or pass the key with --sigstore-key.',
    },
  );
}
