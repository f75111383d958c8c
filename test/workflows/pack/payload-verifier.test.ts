/**
 * Issue 16: the release payload's own verifier configuration
 * (release-manifests/0000_90_cluster-update-keys_configmap.yaml). With no
 * --signature-store, pack fetches the release signatures from the stores the payload
 * names (here a static HTTP store on loopback), reports how the payload's keys compare
 * with the keyring in use, and never trusts a key because the payload names it.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestHex } from '../../../src/digest.js';
import { parseKeyring } from '../../../src/signature/keyring.js';
import { generateKey } from '../../../src/signature/sign.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startStaticServer, type StaticServer } from '../../helpers/static-server.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { oneJson } from '../unpack/unpack-helpers.js';

async function fingerprint(armored: string): Promise<string> {
  const ring = await parseKeyring(armored, 'key');
  return ring.keys[0]?.getFingerprint().toUpperCase() ?? '';
}

function indent(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

interface PackJson {
  ok: boolean;
  signatures: { keyId: string; source: string }[];
  verifier: {
    stores: string[];
    storesFrom: string;
    keys?: { verdict: string; agree: string[]; payloadOnly: string[]; keyringOnly: string[] };
  };
}

describe("pack uses the payload's signature stores and compares its keys, adding no trust", () => {
  let served: string;
  let store: StaticServer;
  let setup: FixtureSetup;
  let fp: { one: string; two: string; payloadOnly: string };
  let outsider: string;

  beforeAll(async () => {
    served = await makeTempDir('bale-payload-store-');
    store = await startStaticServer(served);
    const one = await generateKey('Fixture Release Signer', 'release@fixture.invalid');
    const two = await generateKey('Fixture Second Signer', 'second@fixture.invalid');
    const third = await generateKey('Named Only By The Payload', 'payload@fixture.invalid');
    fp = {
      one: await fingerprint(one.publicKeyArmored),
      two: await fingerprint(two.publicKeyArmored),
      payloadOnly: await fingerprint(third.publicKeyArmored),
    };
    const verificationConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: release-verification
  namespace: openshift-config-managed
  annotations:
    release.openshift.io/verification-config-map: ""
data:
  store-loopback: ${store.url}
  verifier-public-key-fixture: |
${indent(one.publicKeyArmored)}
  verifier-public-key-other: |
${indent(third.publicKeyArmored)}
`;
    setup = await setupFixture({ seed: 1606, signingKey: one, secondSigningKey: two, verificationConfig });
    // The signature store the payload names serves the fixture's signatures.
    await cp(setup.fx.storeDir, served, { recursive: true });
    // A keyring holding only a key the payload names but that signed nothing.
    outsider = join(setup.work, 'payload-only.asc');
    await writeFile(outsider, third.publicKeyArmored);
  }, 300_000);
  afterAll(async () => {
    await store?.stop();
    await setup?.stop();
    await removeTempDir(served);
  });

  function packArgs(keyring: string, to: string): string[] {
    return [
      'pack',
      '--release',
      setup.fx.release.ref,
      '--keyring',
      keyring,
      '--registry-config',
      setup.reg.authFile,
      '--no-sigstore',
      '--to',
      to,
      '--json',
    ];
  }

  it('no --signature-store: the signatures come from the payload store; the key comparison is reported', async () => {
    const r = await runBale(packArgs(setup.fx.keyringPath, join(setup.work, 'bundle')));
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<PackJson>(r);
    expect(res.verifier.storesFrom).toBe('payload');
    expect(res.verifier.stores).toEqual([store.url]);
    expect(res.verifier.keys).toEqual({
      verdict: 'differ',
      agree: [fp.one],
      payloadOnly: [fp.payloadOnly],
      keyringOnly: [fp.two],
    });
    expect(res.signatures).toHaveLength(2);
    for (const s of res.signatures) expect(s.source.startsWith(store.url)).toBe(true);
    const hex = digestHex(setup.fx.release.digest);
    expect(store.log.some((l) => l.path === `/sha256=${hex}/signature-1` && l.status === 200)).toBe(true);
    expect(r.stderr).toContain("the payload's verifier keys differ from the keyring in use");
  });

  it('a key the payload names is not trusted: with a keyring that lacks the signers, pack refuses', async () => {
    const r = await runBale(packArgs(outsider, join(setup.work, 'refused')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('E_SIGNATURE_NONE');
  });
});
