import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import { signatureConfigMap } from '../../../src/signature/configmap.js';
import { verifySignatureFiles } from '../../../src/workflows/verify-signature/index.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import {
  CI,
  CI_KEYRING,
  COMBINED_KEYRING,
  REDHAT,
  readSignature,
  signaturePath,
} from '../../signature/realdata.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-verify-sig-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('verifySignatureFiles', () => {
  it('uses the shipped Red Hat key by default', async () => {
    const results = await verifySignatureFiles({
      digest: REDHAT.digest,
      files: [signaturePath(REDHAT.digest), signaturePath(CI.digest)],
    });
    expect(results).toEqual([
      expect.objectContaining({
        file: signaturePath(REDHAT.digest),
        ok: true,
        keyId: REDHAT.keyId,
        identity: REDHAT.identity,
      }),
      expect.objectContaining({ file: signaturePath(CI.digest), ok: false, keyId: CI.keyId }),
    ]);
  });

  it('uses the given keyrings, and reports the signed digest without --digest', async () => {
    const results = await verifySignatureFiles({
      keyringPaths: [CI_KEYRING],
      files: [signaturePath(CI.digest)],
    });
    expect(results).toEqual([
      expect.objectContaining({ ok: true, digest: CI.digest, identity: CI.identity }),
    ]);
  });

  it('checks each signature of a ConfigMap against its digest', async () => {
    const path = join(dir, 'signature-sha256-e3f12513a4b22a2d.yaml');
    await writeFile(
      path,
      signatureConfigMap(REDHAT.digest, [readSignature(REDHAT.digest), readSignature(CI.digest)]),
    );
    const results = await verifySignatureFiles({ keyringPaths: [COMBINED_KEYRING], files: [path] });
    expect(results.map((r) => [r.entry, r.ok])).toEqual([
      [`sha256-${REDHAT.digest.slice(7)}-1`, true],
      [`sha256-${REDHAT.digest.slice(7)}-2`, false], // signed by openshift-ci for another digest
    ]);
    expect(results[1]!.reason).toBe(`the signature is for ${CI.digest}, not ${REDHAT.digest}`);
  });

  it('reports a broken ConfigMap and an oversized file as results', async () => {
    const cm = join(dir, 'broken.yaml');
    await writeFile(cm, 'kind: Secret\n');
    const big = join(dir, 'big');
    await writeFile(big, Buffer.alloc(60 * 1024, 0xa3));
    const results = await verifySignatureFiles({ files: [cm, big] });
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(results[0]!.reason).toMatch(/signature ConfigMap/);
    expect(results[1]!.reason).toMatch(/larger than/);
  });

  it('throws E_IO for a missing file and E_KEYRING for a bad keyring', async () => {
    const missing = await verifySignatureFiles({ files: [join(dir, 'nope')] }).catch((e: unknown) => e);
    expect(isBaleError(missing, 'E_IO')).toBe(true);
    expect((missing as Error).message).toContain(join(dir, 'nope'));
    const bad = await verifySignatureFiles({
      keyringPaths: [join(dir, 'nokeys')],
      files: [signaturePath(CI.digest)],
    }).catch((e: unknown) => e);
    expect(isBaleError(bad, 'E_KEYRING')).toBe(true);
  });
});
