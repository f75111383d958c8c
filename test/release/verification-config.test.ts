/**
 * The payload's release-verification ConfigMap: Red Hat's real file (a copy in
 * fixtures/data/cluster-update-keys/), hostile variants, and the key comparison that
 * reports but never trusts.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BaleError } from '../../src/errors.js';
import {
  compareVerifierKeys,
  MAX_VERIFICATION_CONFIG_BYTES,
  parseVerificationConfig,
  payloadSignatureStores,
} from '../../src/release/verification-config.js';
import { defaultKeyringPath, loadKeyring, parseKeyring } from '../../src/signature/keyring.js';
import { generateKey, signAtomic } from '../../src/signature/sign.js';
import { verifySignature } from '../../src/signature/verify.js';

const REAL = fileURLToPath(
  new URL(
    '../../fixtures/data/cluster-update-keys/0000_90_cluster-update-keys_configmap.yaml',
    import.meta.url,
  ),
);
const RELEASE_KEY_2 = '567E347AD0044ADE55BA8A5F199E2F91FD431D51';
const BETA_KEY_2 = 'B08B659EE86AF623BC90E8DB938A80CAF21541EB';
const DIGEST = `sha256:${'d'.repeat(64)}`;

async function refusal(p: Promise<unknown>): Promise<BaleError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BaleError);
  expect((err as BaleError).code).toBe('E_RELEASE_INVALID');
  expect((err as BaleError).hint).toBeTruthy();
  return err as BaleError;
}

/** A ConfigMap like Red Hat's with our own key and data. */
function configMap(data: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'release-verification',
      namespace: 'openshift-config-managed',
      annotations: { 'release.openshift.io/verification-config-map': '' },
    },
    data,
    ...extra,
  });
}

describe('parseVerificationConfig on the real Red Hat file', () => {
  it('reads its stores and keys (and tolerates its repeated namespace)', async () => {
    const text = await readFile(REAL, 'utf8');
    expect(text.match(/^ {2}namespace: openshift-config-managed$/gm)).toHaveLength(2);
    const config = await parseVerificationConfig(text, 'payload');
    expect(config.name).toBe('release-verification');
    expect(config.namespace).toBe('openshift-config-managed');
    expect(config.stores).toEqual([
      {
        name: 'store-openshift-official-release',
        url: 'https://storage.googleapis.com/openshift-release/official/signatures/openshift/release',
      },
      {
        name: 'store-openshift-official-release-mirror',
        url: 'https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release',
      },
    ]);
    expect(payloadSignatureStores(config)).toEqual(config.stores.map((s) => s.url));
    expect(config.keys).toEqual([
      {
        name: 'verifier-public-key-redhat',
        fingerprints: [RELEASE_KEY_2, BETA_KEY_2],
        userIds: [
          'Red Hat, Inc. (release key 2) <security@redhat.com>',
          'Red Hat, Inc. (beta key 2) <security@redhat.com>',
        ],
      },
    ]);
    expect(config.ignored).toEqual([]);
  });

  it("compares with bale's shipped keyring: release key 2 agrees, beta key 2 is payload-only", async () => {
    const config = await parseVerificationConfig(await readFile(REAL));
    const keyring = await loadKeyring(defaultKeyringPath());
    const before = keyring.keys.length;
    expect(compareVerifierKeys(config, [keyring])).toEqual({
      verdict: 'differ',
      agree: [RELEASE_KEY_2],
      payloadOnly: [BETA_KEY_2],
      keyringOnly: [],
    });
    expect(keyring.keys.length).toBe(before);
  });
});

describe('compareVerifierKeys never adds trust', () => {
  it('a key only the payload names stays untrusted: its signature does not verify with the keyring in use', async () => {
    const payloadKey = await generateKey('Payload Only', 'payload@example.com');
    const ourKey = await generateKey('Our Key', 'ours@example.com');
    const config = await parseVerificationConfig(
      configMap({
        'store-x': 'https://example.com/sigs',
        'verifier-public-key-x': payloadKey.publicKeyArmored,
      }),
    );
    const ours = await parseKeyring(ourKey.publicKeyArmored, 'ours.asc');
    const report = compareVerifierKeys(config, [ours]);
    expect(report.verdict).toBe('differ');
    expect(report.payloadOnly).toHaveLength(1);
    expect(report.keyringOnly).toHaveLength(1);
    expect(report.agree).toEqual([]);
    const message = await signAtomic({
      digest: DIGEST,
      identity: 'quay.io/x/y:1',
      privateKeyArmored: payloadKey.privateKeyArmored,
    });
    const check = await verifySignature(message, [ours], DIGEST);
    expect(check.ok).toBe(false);
  });

  it('agrees when both sides hold the same keys', async () => {
    const key = await generateKey('Same', 'same@example.com');
    const config = await parseVerificationConfig(
      configMap({
        'store-x': 'file:///srv/sigs',
        'verifier-public-key-x': key.publicKeyArmored,
        'release-repository-default': 'quay.io/x',
      }),
    );
    expect(config.ignored).toEqual(['release-repository-default']);
    const report = compareVerifierKeys(config, [await parseKeyring(key.publicKeyArmored, 'k')]);
    expect(report).toMatchObject({ verdict: 'agree', payloadOnly: [], keyringOnly: [] });
    expect(report.agree).toHaveLength(1);
  });
});

describe('parseVerificationConfig on hostile input', () => {
  let armored = '';
  const key = async (): Promise<string> => {
    if (armored === '') armored = (await generateKey('K', 'k@example.com')).publicKeyArmored;
    return armored;
  };

  it.each([
    ['a store with another scheme', { 'store-x': 'ftp://example.com/sigs' }, 'scheme ftp'],
    ['a store that is not a URL', { 'store-x': 'not a url' }, 'not a URL'],
    ['a store with credentials', { 'store-x': 'https://user:pw@example.com/sigs' }, 'credentials'],
    [
      'a key that is not OpenPGP',
      { 'verifier-public-key-bad': 'hello' },
      'data.verifier-public-key-bad is not an OpenPGP public key',
    ],
    ['a non-string value', { 'store-y': 5 }, 'data.store-y is not a string'],
    ['no stores', { 'store-x': undefined }, 'names no signature store'],
    ['no keys', { 'verifier-public-key-x': undefined }, 'names no verifier key'],
  ])('refuses %s', async (_name, patch, message) => {
    const data: Record<string, unknown> = {
      'store-x': 'https://example.com/sigs',
      'verifier-public-key-x': await key(),
      ...patch,
    };
    for (const [k, v] of Object.entries(data)) if (v === undefined) delete data[k];
    const err = await refusal(parseVerificationConfig(configMap(data), 'payload.yaml'));
    expect(err.message).toContain(message);
    expect(err.message).toContain('payload.yaml');
  });

  it('refuses a key repeated with a different value, which two readers would read two ways', async () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-verification\n  annotations:\n    release.openshift.io/verification-config-map: ""\ndata:\n  store-x: https://good.example.com/sigs\n  store-x: https://evil.example.com/sigs\n`;
    expect((await refusal(parseVerificationConfig(text))).message).toContain(
      '"store-x" appears twice with different values',
    );
  });

  it('refuses a file without the annotated ConfigMap, and other apiVersions', async () => {
    const plain = configMap({}).replace('release.openshift.io/verification-config-map', 'other');
    expect((await refusal(parseVerificationConfig(plain))).message).toContain(
      'no ConfigMap with the annotation',
    );
    const v2 = configMap({ 'store-x': 'https://e.com/s', 'verifier-public-key-x': await key() }).replace(
      'apiVersion: v1',
      'apiVersion: v2',
    );
    expect((await refusal(parseVerificationConfig(v2))).message).toContain('apiVersion');
  });

  it('uses the first annotated ConfigMap of a multi-document file, as the CVO does', async () => {
    const other = stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unrelated' },
      data: { a: 'b' },
    });
    const good = configMap({ 'store-x': 'https://example.com/sigs', 'verifier-public-key-x': await key() });
    const config = await parseVerificationConfig(`${other}---\n${good}`);
    expect(config.stores.map((s) => s.name)).toEqual(['store-x']);
  });

  it('refuses YAML aliases (no expansion bombs), invalid YAML, non-UTF-8 and oversized files', async () => {
    const bomb = `a: &a [x, x]\nb: &b [*a, *a]\nkind: ConfigMap\n`;
    await refusal(parseVerificationConfig(bomb));
    expect((await refusal(parseVerificationConfig('data: [unclosed'))).message).toContain('not valid YAML');
    expect(
      (await refusal(parseVerificationConfig(Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe])))).message,
    ).toContain('UTF-8');
    const big = Buffer.alloc(MAX_VERIFICATION_CONFIG_BYTES + 1, 0x20);
    expect((await refusal(parseVerificationConfig(big))).message).toContain('larger than');
  });
});

describe('parseVerificationConfig on aliases in odd places', () => {
  it.each([
    ['a scalar alias', 'a: &a x\nb: *a\nkind: ConfigMap\n'],
    ['a repeated key whose value is an alias', 'a: &a x\nb: *a\nb: *a\n'],
    ['an alias to a map', 'a: &a {k: v}\nb: *a\n'],
  ])('refuses %s with a release-invalid error', async (_name, text) => {
    const err = await parseVerificationConfig(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).code).toBe('E_RELEASE_INVALID');
  });
});
