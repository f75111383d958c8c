import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { parseAtomicSignature } from '../../src/signature/atomic.js';
import { loadKeyring, parseKeyring, type Keyring } from '../../src/signature/keyring.js';
import { readSignedMessage } from '../../src/signature/packets.js';
import { generateKey, signAtomic, signDetached, verifyDetached } from '../../src/signature/sign.js';
import { COMBINED_KEYRING } from './realdata.js';

const DIGEST = `sha256:${'5e'.repeat(32)}`;
let key: Awaited<ReturnType<typeof generateKey>>;
let keyring: Keyring;
let other: Keyring;

beforeAll(async () => {
  key = await generateKey('bale signer', 'signer@example.com');
  keyring = await parseKeyring(key.publicKeyArmored, 'signer.asc');
  other = await loadKeyring(COMBINED_KEYRING);
});

describe('generateKey', () => {
  it('makes an RSA key that openpgp.js can use, with its key ID', async () => {
    const priv = await openpgp.readPrivateKey({ armoredKey: key.privateKeyArmored });
    expect(key.keyId).toMatch(/^[0-9A-F]{16}$/);
    expect(priv.getKeyID().toHex().toUpperCase()).toBe(key.keyId);
    expect(priv.getAlgorithmInfo()).toMatchObject({ algorithm: 'rsaEncryptSign', bits: 2048 });
    expect(priv.getUserIDs()).toEqual(['bale signer <signer@example.com>']);
    expect(key.publicKeyArmored).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });
});

describe('signAtomic', () => {
  it('makes a non-armored signed message like a store signature', async () => {
    const sig = await signAtomic({
      digest: DIGEST,
      identity: 'example.com/release:1',
      privateKeyArmored: key.privateKeyArmored,
      creator: 'bale',
      timestamp: 1_600_000_000,
    });
    expect(sig[0]! & 0x80).toBe(0x80); // a binary packet header, not armor
    const parsed = readSignedMessage(sig);
    expect(parsed.onePass).toBeDefined();
    expect(parsed.signature[0]).toBe(4);
    expect(parseAtomicSignature(parsed.data)).toEqual({
      type: 'atomic container signature',
      digest: DIGEST,
      identity: 'example.com/release:1',
      creator: 'bale',
      timestamp: 1_600_000_000,
    });
  });

  it('refuses bad input', async () => {
    const base = { digest: DIGEST, identity: 'a/b:c', privateKeyArmored: key.privateKeyArmored };
    await expect(signAtomic({ ...base, digest: 'sha256:x' })).rejects.toSatisfy((e) =>
      isBaleError(e, 'E_REFERENCE'),
    );
    await expect(signAtomic({ ...base, identity: '' })).rejects.toSatisfy((e) => isBaleError(e, 'E_USAGE'));
    await expect(signAtomic({ ...base, privateKeyArmored: key.publicKeyArmored })).rejects.toSatisfy((e) =>
      isBaleError(e, 'E_KEYRING'),
    );
  });

  it('refuses a passphrase-protected key', async () => {
    const priv = await openpgp.readPrivateKey({ armoredKey: key.privateKeyArmored });
    const locked = await openpgp.encryptKey({ privateKey: priv, passphrase: 'pw' });
    const err = await signAtomic({
      digest: DIGEST,
      identity: 'a/b:c',
      privateKeyArmored: locked.armor(),
    }).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_KEYRING')).toBe(true);
    expect((err as Error).message).toMatch(/passphrase/);
  });
});

describe('signDetached / verifyDetached', () => {
  const data = Buffer.from('{"bundle": "index"}\n');

  it('verifies an armored detached signature with the right key', async () => {
    const sig = await signDetached(data, key.privateKeyArmored);
    expect(sig).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(await verifyDetached(data, sig, [keyring])).toEqual({
      ok: true,
      keyId: key.keyId,
      userId: 'bale signer <signer@example.com>',
      version: 4,
    });
  });

  it('fails for other data, another keyring, and garbage', async () => {
    const sig = await signDetached(data, key.privateKeyArmored);
    const changed = await verifyDetached(Buffer.from('{"bundle": "index!"}\n'), sig, [keyring]);
    expect(changed.ok).toBe(false);
    expect(changed.reason).toMatch(/^bad signature/);
    const unknown = await verifyDetached(data, sig, [other]);
    expect(unknown.ok).toBe(false);
    expect(unknown.reason).toContain(key.keyId);
    const garbage = await verifyDetached(data, 'not a signature', [keyring]);
    expect(garbage.ok).toBe(false);
    expect(garbage.reason).toMatch(/malformed detached signature/);
  });
});
