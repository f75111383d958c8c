/**
 * OpenPGP public keyrings: armored (with any text before, between or after the armor
 * blocks, as real keyring files have) or binary, one or many keys per file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { shippedFile } from '../shipped-file.js';
import { BaleError, messageOf } from '../errors.js';

export interface Keyring {
  /** Where the keys came from (a path), for messages. */
  source: string;
  keys: openpgp.PublicKey[];
}

/** A key or subkey whose key ID matched, with the key it belongs to. */
export interface KeyMatch {
  key: openpgp.PublicKey;
  /** The primary key itself or one of its subkeys. */
  match: openpgp.PublicKey | openpgp.Subkey;
  keyring: Keyring;
}

/** Keyrings larger than this are not keyrings. */
export const MAX_KEYRING_BYTES = 16 * 1024 * 1024;
const DEFAULT_KEY = join('keys', 'redhat-release-key-2.asc');
const ARMOR_RE = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

function keyringError(source: string, what: string, cause?: unknown): BaleError {
  return new BaleError('E_KEYRING', `keyring ${source}: ${what}`, {
    hint: 'Pass a file with OpenPGP public keys (armored or binary), such as one exported with gpg --export --armor.',
    cause,
    details: { keyring: source },
  });
}

export async function loadKeyring(path: string): Promise<Keyring> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw keyringError(path, `cannot read it (${messageOf(err)})`, err);
  }
  return parseKeyring(data, path);
}

export async function parseKeyring(data: Uint8Array | string, source: string): Promise<Keyring> {
  const size = typeof data === 'string' ? data.length : data.byteLength;
  if (size === 0) throw keyringError(source, 'the file is empty');
  if (size > MAX_KEYRING_BYTES) throw keyringError(source, `larger than ${MAX_KEYRING_BYTES} bytes`);
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const blocks = text.match(ARMOR_RE);
  let keys: openpgp.Key[] = [];
  try {
    if (blocks !== null) {
      for (const block of blocks) keys.push(...(await openpgp.readKeys({ armoredKeys: block })));
    } else if (typeof data === 'string' || text.includes('-----BEGIN PGP')) {
      throw new Error('no PGP PUBLIC KEY BLOCK armor found');
    } else {
      keys = await openpgp.readKeys({ binaryKeys: data });
    }
  } catch (err) {
    throw keyringError(source, `not an OpenPGP keyring (${messageOf(err)})`, err);
  }
  if (keys.length === 0) throw keyringError(source, 'holds no public keys');
  return { source, keys: keys.map((k) => (k.isPrivate() ? k.toPublic() : (k as openpgp.PublicKey))) };
}

/**
 * keys/redhat-release-key-2.asc shipped with bale: found by walking up from this
 * module, so it works from src/ (tests) and from dist/src/ (the built package).
 */
export function defaultKeyringPath(): string {
  const path = shippedFile(DEFAULT_KEY);
  if (path !== undefined) return path;
  throw new BaleError('E_KEYRING', `bale's default keyring ${DEFAULT_KEY} is missing from the installation`, {
    hint: 'Reinstall bale, or pass the Red Hat release key with --keyring.',
  });
}

/** The keyrings at these paths, or bale's shipped Red Hat key when none are given. */
export async function loadKeyrings(paths: readonly string[] | undefined): Promise<Keyring[]> {
  const list = paths !== undefined && paths.length > 0 ? paths : [defaultKeyringPath()];
  return Promise.all(list.map((p) => loadKeyring(p)));
}

/** 16 upper-case hex characters. */
export function formatKeyId(id: openpgp.KeyID): string {
  return id.toHex().toUpperCase();
}

/** Every key or subkey with this key ID (16 hex, any case) in the keyrings. */
export function findKeys(keyrings: readonly Keyring[], keyId: string): KeyMatch[] {
  const wanted = keyId.toLowerCase();
  const out: KeyMatch[] = [];
  for (const keyring of keyrings) {
    for (const key of keyring.keys) {
      for (const match of key.getKeys()) {
        if (match.getKeyID().toHex() === wanted) out.push({ key, match, keyring });
      }
    }
  }
  return out;
}

/** The primary user ID at `date`, falling back to the first user ID of the key. */
export async function primaryUserId(key: openpgp.PublicKey, date?: Date): Promise<string | undefined> {
  try {
    const primary = await key.getPrimaryUser(date);
    const id = primary.user.userID?.userID;
    if (id !== undefined) return id;
  } catch {
    // an expired or oddly certified key: fall back to the first user ID
  }
  return key.getUserIDs()[0];
}
