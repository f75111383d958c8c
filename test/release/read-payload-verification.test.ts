/**
 * readReleasePayload's `verificationConfig` option: a fixture payload layer that carries
 * Red Hat's real release-verification ConfigMap among its manifests.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { readReleasePayload, VERIFICATION_CONFIG_PATH } from '../../src/release/read-payload.js';
import { parseVerificationConfig } from '../../src/release/verification-config.js';
import { tarBuffer } from '../../fixtures/tar.js';
import { chunked, gzip, payloadEntries, zstd } from './payload-builders.js';

const REAL = fileURLToPath(
  new URL(
    '../../fixtures/data/cluster-update-keys/0000_90_cluster-update-keys_configmap.yaml',
    import.meta.url,
  ),
);

let configMap: Buffer;
let layer: Buffer;

beforeAll(async () => {
  configMap = await readFile(REAL);
  const entries = payloadEntries();
  // Where a real payload has it: among the release manifests, before image-references.
  entries.splice(2, 0, { name: `./${VERIFICATION_CONFIG_PATH}`, data: configMap });
  layer = await tarBuffer(entries);
});

describe('readReleasePayload with verificationConfig', () => {
  it('also returns the verification ConfigMap when asked, byte for byte, and it parses', async () => {
    const files = await readReleasePayload(Readable.from([gzip(layer)]), { verificationConfig: true });
    expect(files.verificationConfig?.equals(configMap)).toBe(true);
    const config = await parseVerificationConfig(files.verificationConfig ?? Buffer.alloc(0));
    expect(config.stores).toHaveLength(2);
    expect(files.imageReferences.length).toBeGreaterThan(0);
  });

  it('leaves existing callers as they were: no option, no field', async () => {
    const files = await readReleasePayload(Readable.from([layer]));
    expect(Object.keys(files).sort()).toEqual(['imageReferences', 'releaseMetadata']);
  });

  it('reads it from a zstd layer fed one byte at a time', async () => {
    const files = await readReleasePayload(chunked(zstd(layer), 1), { verificationConfig: true });
    expect(files.verificationConfig?.equals(configMap)).toBe(true);
  });

  it('is absent, not an error, for a payload without the file', async () => {
    const files = await readReleasePayload(Readable.from([await tarBuffer(payloadEntries())]), {
      verificationConfig: true,
    });
    expect(files.verificationConfig).toBeUndefined();
    expect('verificationConfig' in files).toBe(false);
  });

  it('applies the size cap to it too, naming it', async () => {
    const err = await readReleasePayload(Readable.from([layer]), {
      verificationConfig: true,
      maxFileBytes: 1000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).code).toBe('E_RELEASE_INVALID');
    // image-references (~600 bytes) fits; the ConfigMap (~4 KiB) does not.
    expect((err as BaleError).message).toContain(VERIFICATION_CONFIG_PATH);
  });
});
