import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { isBaleError } from '../../src/errors.js';
import {
  parseSignatureConfigMap,
  signatureConfigMap,
  signatureConfigMapName,
} from '../../src/signature/configmap.js';
import { CI, REDHAT, readSignature } from './realdata.js';

const HEX = 'e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7';
const DIGEST = `sha256:${HEX}`;

const GOLDEN = `apiVersion: v1
kind: ConfigMap
metadata:
  name: sha256-e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7
  namespace: openshift-config-managed
  labels:
    release.openshift.io/verification-signatures: ""
binaryData:
  sha256-e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7-1: c2lnbmF0dXJlIG9uZQ==
  sha256-e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7-2: AAH/
`;

function invalid(text: string, reason: RegExp): void {
  let err: unknown;
  try {
    parseSignatureConfigMap(text, 'cm.yaml');
  } catch (e) {
    err = e;
  }
  expect(isBaleError(err, 'E_SIGNATURE_INVALID')).toBe(true);
  expect((err as Error).message).toMatch(/^signature ConfigMap cm\.yaml: /);
  expect((err as Error).message).toMatch(reason);
}

describe('signature ConfigMap', () => {
  it('names the file after the first 16 hex of the digest', () => {
    expect(signatureConfigMapName(DIGEST)).toBe('signature-sha256-e3f12513a4b22a2d.yaml');
  });

  it('writes exactly the golden text', () => {
    expect(signatureConfigMap(DIGEST, [Buffer.from('signature one'), Buffer.from([0, 1, 255])])).toBe(GOLDEN);
  });

  it('parses with the yaml package to the expected object', () => {
    const sigs = [readSignature(REDHAT.digest), readSignature(CI.digest)];
    const text = signatureConfigMap(REDHAT.digest, sigs);
    expect(YAML.parse(text)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `sha256-${HEX}`,
        namespace: 'openshift-config-managed',
        labels: { 'release.openshift.io/verification-signatures': '' },
      },
      binaryData: {
        [`sha256-${HEX}-1`]: sigs[0]!.toString('base64'),
        [`sha256-${HEX}-2`]: sigs[1]!.toString('base64'),
      },
    });
  });

  it('round-trips, for the golden text and for genuine signatures', () => {
    expect(parseSignatureConfigMap(GOLDEN)).toEqual({
      digest: DIGEST,
      signatures: [Buffer.from('signature one'), Buffer.from([0, 1, 255])],
    });
    const sigs = [readSignature(REDHAT.digest), readSignature(CI.digest)];
    expect(parseSignatureConfigMap(signatureConfigMap(REDHAT.digest, sigs))).toEqual({
      digest: REDHAT.digest,
      signatures: sigs,
    });
  });

  it('quotes a base64 value that YAML would read as something else', () => {
    // base64 of these bytes is all digits: plain, YAML would read a number
    const digits = Buffer.from('12345678', 'base64');
    const text = signatureConfigMap(DIGEST, [digits]);
    expect(text).toContain(`-1: "12345678"\n`);
    expect(parseSignatureConfigMap(text).signatures).toEqual([digits]);
  });

  it('reads the same object written as JSON (what current oc writes)', () => {
    expect(parseSignatureConfigMap(JSON.stringify(YAML.parse(GOLDEN)))).toEqual(
      parseSignatureConfigMap(GOLDEN),
    );
  });

  it('refuses to write a ConfigMap without signatures', () => {
    expect(() => signatureConfigMap(DIGEST, [])).toThrow(/no signatures/);
  });

  it('rejects hostile or malformed ConfigMaps', () => {
    invalid('', /the document is not a mapping/);
    invalid('- a\n- b\n', /not a mapping/);
    invalid('{{{', /not valid YAML/);
    invalid(GOLDEN.replace('kind: ConfigMap', 'kind: Secret'), /kind is "Secret"/);
    invalid(GOLDEN.replace('apiVersion: v1', 'apiVersion: v2'), /apiVersion/);
    invalid(`${GOLDEN}extra: 1\n`, /unknown field "extra" in the document/);
    invalid(GOLDEN.replace('  namespace: openshift-config-managed', '  namespace: default'), /namespace/);
    invalid(
      GOLDEN.replace(
        '  namespace: openshift-config-managed\n',
        '  namespace: openshift-config-managed\n  uid: x\n',
      ),
      /unknown field "uid" in metadata/,
    );
    invalid(GOLDEN.replace('signatures: ""', 'signatures: "yes"'), /label/);
    invalid(GOLDEN.replace(`name: sha256-${HEX}`, 'name: sha256-abc'), /metadata.name/);
    invalid(GOLDEN.replace(`${HEX}-2:`, `${HEX}-3:`), /has no sha256-[0-9a-f]+-2/);
    invalid(GOLDEN.replace(`${HEX}-2:`, `${'0'.repeat(64)}-2:`), /has no sha256-[0-9a-f]+-2/);
    invalid(GOLDEN.replace('AAH/', 'AAH'), /not base64/);
    invalid(GOLDEN.replace('AAH/', 'AAH_'), /not base64/);
    invalid(GOLDEN.replace('c2lnbmF0dXJlIG9uZQ==', 'c2lnbmF0dXJlIG9uZR=='), /not canonical base64/);
    invalid(GOLDEN.replace('AAH/', '""'), /not base64/);
    invalid(GOLDEN.replace('AAH/', `${'A'.repeat(70 * 1024)}`), /larger than/);
    invalid(`${GOLDEN}binaryData: {}\n`, /not valid YAML/); // duplicate key
    invalid(GOLDEN.replace(/binaryData:[\s\S]*/, 'binaryData: {}\n'), /binaryData is empty/);
    invalid(`x: &a [1]\ny: *a\n${GOLDEN}`, /not valid YAML/); // aliases are refused
  });
});
