import { describe, expect, it } from 'vitest';
import { defaultKeyringPath, formatKeyId, loadKeyrings } from '../../src/signature/keyring.js';
import { defaultSigstoreKeyPath } from '../../src/signature/sigstore-key.js';
import { shippedFile } from '../../src/shipped-file.js';
import { CI, CI_KEYRING, REDHAT } from './realdata.js';

describe('loadKeyrings and the shipped keys', () => {
  it("defaults to bale's shipped Red Hat release key 2 when no path is given", async () => {
    for (const none of [undefined, []]) {
      const [ring, ...rest] = await loadKeyrings(none);
      expect(rest).toEqual([]);
      expect(ring?.source).toBe(defaultKeyringPath());
      expect(ring?.keys.map((k) => formatKeyId(k.getKeyID()))).toContain(REDHAT.keyId);
    }
  });

  it('loads exactly the keyrings given, and never adds the default', async () => {
    const rings = await loadKeyrings([CI_KEYRING]);
    expect(rings).toHaveLength(1);
    expect(rings[0]?.keys.map((k) => formatKeyId(k.getKeyID()))).toEqual([CI.keyId]);
  });

  it('fails with E_KEYRING naming a missing file', async () => {
    await expect(loadKeyrings(['/nonexistent/bale-keyring.asc'])).rejects.toMatchObject({
      code: 'E_KEYRING',
    });
  });

  it('finds both shipped keys by walking up from the module; nothing for a file bale does not ship', () => {
    expect(defaultKeyringPath()).toMatch(/keys\/redhat-release-key-2\.asc$/);
    expect(defaultSigstoreKeyPath()).toMatch(/keys\/redhat-release-sigstore\.pub$/);
    expect(shippedFile('keys/no-such-key.asc')).toBeUndefined();
  });
});
