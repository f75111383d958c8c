import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import {
  defaultSigstoreKeyPath,
  loadSigstoreKey,
  MAX_SIGSTORE_KEY_BYTES,
  parseSigstoreKey,
} from '../../src/signature/sigstore-key.js';
import { generateSigstoreKeyPair } from '../../fixtures/sigstore.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-sigstore-key-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

function refusal(data: string | Buffer): BaleError {
  try {
    parseSigstoreKey(data, 'key.pem');
  } catch (e) {
    expect(e).toBeInstanceOf(BaleError);
    const err = e as BaleError;
    expect(err.code).toBe('E_KEYRING');
    expect(err.message).toContain('key.pem');
    expect(err.hint).toBeTruthy();
    return err;
  }
  throw new Error('expected the key to be refused');
}

describe('parseSigstoreKey', () => {
  it('reads an ECDSA P-256 and an RSA public key, with a stable SPKI fingerprint', () => {
    const ec = generateSigstoreKeyPair('ecdsa-p256');
    const k = parseSigstoreKey(ec.publicKeyPem, 'cosign.pub');
    expect(k.algorithm).toBe('ecdsa-p256');
    expect(k.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Text around the PEM block (as in a pasted file) does not change the key.
    expect(parseSigstoreKey(`comment line\n${ec.publicKeyPem}\ntrailer\n`, 'x').fingerprint).toBe(
      k.fingerprint,
    );
    const r = parseSigstoreKey(generateSigstoreKeyPair('rsa').publicKeyPem, 'rsa.pub');
    expect(r.algorithm).toBe('rsa');
    expect(r.fingerprint).not.toBe(k.fingerprint);
  });

  it('refuses a private key and says to give the public half', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const err = refusal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(err.message).toContain('private key');
    expect(err.hint).toContain('public half');
  });

  it('refuses an ECDSA key on another curve, naming it', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(refusal(publicKey.export({ type: 'spki', format: 'pem' }).toString()).message).toContain(
      'secp384r1',
    );
  });

  it('refuses Ed25519 and short RSA keys', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(ed).message).toContain('ed25519 keys are not supported');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(refusal(small).message).toContain('1024 bits');
  });

  it.each([
    ['empty', '', 'empty'],
    [
      'an OpenPGP key',
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n',
      'OpenPGP',
    ],
    ['no PEM', 'just text', 'no PEM block'],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'certificate'],
    [
      'garbage in the PEM',
      '-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n',
      'not a readable public key',
    ],
    ['too large', 'x'.repeat(MAX_SIGSTORE_KEY_BYTES + 1), 'larger than'],
  ])('refuses %s', (_name, data, message) => {
    expect(refusal(data).message).toContain(message);
  });

  it('refuses two keys in one file', () => {
    const a = generateSigstoreKeyPair().publicKeyPem;
    expect(refusal(a + a).message).toContain('2 PEM blocks');
  });
});

describe('loadSigstoreKey', () => {
  it('loads a file and names a missing one', async () => {
    const path = join(dir, 'cosign.pub');
    await writeFile(path, generateSigstoreKeyPair().publicKeyPem);
    expect((await loadSigstoreKey(path)).source).toBe(path);
    const err = await loadSigstoreKey(join(dir, 'missing.pub')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).message).toContain('missing.pub');
  });

  it("ships Red Hat's release Sigstore key (RSA 4096) as the default", async () => {
    const path = defaultSigstoreKeyPath();
    const key = await loadSigstoreKey(path);
    expect(key.algorithm).toBe('rsa');
    expect(key.key.asymmetricKeyDetails?.modulusLength).toBe(4096);
    // The fingerprint of the key published in openshift/cluster-update-keys
    // (manifests.rhel/0000_90_openshift-cluster-image-policy.yaml); a changed file fails here.
    expect(key.fingerprint).toBe(EXPECTED_REDHAT_FINGERPRINT);
    expect((await readFile(path, 'utf8')).startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
  });
});

const EXPECTED_REDHAT_FINGERPRINT = 'sha256:ba9d26350d78893a20f337e2153a113108bfcf064085afaee60d446e63405576';
