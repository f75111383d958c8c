/**
 * The verify workflow: it loads the keyring files the user names (release keyring,
 * index keyring, Sigstore keys) and runs the audit with them. The audit itself is
 * tested in test/bundle/verify-bundle.test.ts; here, what the coordinator decides.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../../src/workflows/verify/index.js';
import { isBaleError } from '../../../src/errors.js';
import { removeDir } from '../../../fixtures/hostile/damage.js';
import {
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../../fixtures/hostile/valid-bundle.js';

let root: string;
let key: SigningKey;
let other: SigningKey;
let bundle: ValidBundle;
let keyFile: string;
let otherFile: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-verify-wf-'));
  [key, other] = await Promise.all([makeSigningKey(), makeSigningKey()]);
  bundle = await buildValidBundle(join(root, 'bundle'), key);
  keyFile = join(root, 'key.asc');
  otherFile = join(root, 'other.asc');
  await writeFile(keyFile, key.publicKeyArmored);
  await writeFile(otherFile, other.publicKeyArmored);
}, 60_000);

afterAll(async () => {
  await removeDir(root);
});

describe('verify workflow', () => {
  it('with the keyring that signed the release: every volume checked, the release anchored', async () => {
    const r = await verify(bundle.dir, { keyringPaths: [keyFile] });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checked.volumes).toBe(bundle.index.volumes.length);
    expect(r.signatures.some((s) => s.ok)).toBe(true);
  });

  it('with another keyring: not ok, and the signature problem is reported', async () => {
    const r = await verify(bundle.dir, { keyringPaths: [otherFile] });
    expect(r.ok).toBe(false);
    expect(r.signatures.every((s) => !s.ok)).toBe(true);
    expect(r.problems.length).toBeGreaterThan(0);
  });

  it('several keyrings: one that verifies is enough', async () => {
    const r = await verify(bundle.dir, { keyringPaths: [otherFile, keyFile] });
    expect(r.ok).toBe(true);
  });

  it('--volume: only the volumes named are read', async () => {
    const first = bundle.index.volumes[0]?.name ?? '';
    const r = await verify(bundle.dir, { keyringPaths: [keyFile], volumes: [first] });
    expect(r.checked.volumes).toBe(1);
  });

  it('a keyring file that is missing or not a keyring: E_KEYRING naming it, before any bundle is read', async () => {
    const missing = join(root, 'missing.asc');
    const err = await verify(join(root, 'no-bundle-here'), { keyringPaths: [missing] }).catch(
      (e: unknown) => e,
    );
    expect(isBaleError(err, 'E_KEYRING')).toBe(true);
    expect((err as Error).message).toContain(missing);
    const junk = join(root, 'junk.asc');
    await writeFile(junk, 'not a key\n');
    const err2 = await verify(bundle.dir, { keyringPaths: [junk] }).catch((e: unknown) => e);
    expect(isBaleError(err2, 'E_KEYRING')).toBe(true);
  });

  it('an index keyring asks for bundle.json.asc: without one the bundle is unsigned and fails', async () => {
    const dir = join(root, 'copy');
    await cp(bundle.dir, dir, { recursive: true });
    const asked = await verify(dir, { keyringPaths: [keyFile], indexKeyringPaths: [keyFile] });
    expect(asked.trust?.index.state).toBe('unsigned');
    expect(asked.ok).toBe(false);
    // Without an index keyring an unsigned bundle.json is no problem.
    const plain = await verify(dir, { keyringPaths: [keyFile] });
    expect(plain.trust?.index.state).toBe('unsigned');
    expect(plain.ok).toBe(true);
  });
});
