import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { defaultKeyringPath, findKeys, loadKeyring, parseKeyring } from '../../src/signature/keyring.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { CI, CI_KEYRING, COMBINED_KEYRING, REDHAT, REDHAT_KEYRING } from './realdata.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-keyring-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** The armor block with most of its body removed, but BEGIN and END lines intact. */
function cutArmor(text: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((l) => l.startsWith('-----BEGIN'));
  const end = lines.findIndex((l) => l.startsWith('-----END'));
  return [...lines.slice(0, begin + 12), ...lines.slice(end)].join('\n');
}

const ids = (k: { keys: { getKeyID(): { toHex(): string } }[] }): string[] =>
  k.keys.map((key) => key.getKeyID().toHex().toUpperCase());

describe('loadKeyring', () => {
  it('reads an armored key with a plain-text preamble', async () => {
    const k = await loadKeyring(REDHAT_KEYRING);
    expect(k.source).toBe(REDHAT_KEYRING);
    expect(ids(k)).toEqual([REDHAT.keyId]);
  });

  it('reads several keys from one file', async () => {
    expect(ids(await loadKeyring(COMBINED_KEYRING)).sort()).toEqual([CI.keyId, REDHAT.keyId].sort());
  });

  it('reads several armor blocks with text between them', async () => {
    const text = `first:\n${readFileSync(REDHAT_KEYRING, 'utf8')}\nsecond:\n${readFileSync(CI_KEYRING, 'utf8')}\ntrailer\n`;
    expect(ids(await parseKeyring(text, 'concatenated')).sort()).toEqual([CI.keyId, REDHAT.keyId].sort());
  });

  it('reads a binary keyring', async () => {
    const armored = await loadKeyring(COMBINED_KEYRING);
    const binary = Buffer.concat(armored.keys.map((key) => key.write()));
    const path = join(dir, 'keys.gpg');
    await writeFile(path, binary);
    expect(ids(await loadKeyring(path))).toEqual(ids(armored));
  });

  it('ships the Red Hat release key as the default keyring', async () => {
    const path = defaultKeyringPath();
    expect(path.endsWith(join('keys', 'redhat-release-key-2.asc'))).toBe(true);
    expect(ids(await loadKeyring(path))).toEqual([REDHAT.keyId]);
  });

  it('finds primary keys and subkeys by key ID, in any case', async () => {
    const k = await loadKeyring(COMBINED_KEYRING);
    expect(findKeys([k], REDHAT.keyId.toLowerCase()).map((m) => m.key.getKeyID().toHex())).toEqual([
      REDHAT.keyId.toLowerCase(),
    ]);
    const sub = findKeys([k], '09F004B4A016780D');
    expect(sub).toHaveLength(1);
    expect(sub[0]!.key.getKeyID().toHex().toUpperCase()).toBe(CI.keyId);
    expect(findKeys([k], '0000000000000000')).toEqual([]);
  });

  const bad: [string, string | Buffer, RegExp][] = [
    ['empty', '', /empty/],
    ['garbage text', 'hello world\n', /not an OpenPGP keyring/],
    ['garbage binary', Buffer.from([0x99, 0x01, 0x02, 0x03, 0x04]), /not an OpenPGP keyring/],
    ['an armor block cut short', cutArmor(readFileSync(REDHAT_KEYRING, 'utf8')), /not an OpenPGP keyring/],
    [
      'a truncated armor block',
      readFileSync(REDHAT_KEYRING, 'utf8').slice(0, 600),
      /no PGP PUBLIC KEY BLOCK/,
    ],
  ];
  for (const [name, content, reason] of bad) {
    it(`fails with E_KEYRING naming the file for ${name}`, async () => {
      const path = join(dir, `${name.replace(/ /g, '-')}.asc`);
      await writeFile(path, content);
      const err = await loadKeyring(path).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_KEYRING')).toBe(true);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(reason);
    });
  }

  it('fails with E_KEYRING for a missing file', async () => {
    const err = await loadKeyring(join(dir, 'nope.asc')).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_KEYRING')).toBe(true);
    expect((err as Error).message).toMatch(/nope\.asc: cannot read it/);
  });
});
