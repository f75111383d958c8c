/**
 * The mirror registry of `unpack --to` (src/workflows/unpack/mirror-target.ts): a
 * client with the --registry-config credentials and the TLS choice, retries reported,
 * and an interrupt that closes the connections at once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../../src/progress.js';
import { openMirror } from '../../../src/workflows/unpack/mirror-target.js';
import type { UnpackOptions } from '../../../src/workflows/unpack/options.js';
import { startRegistry, writeAuthFile, type TestRegistry } from '../../helpers/registry.js';
import { pushTinyImage } from '../../helpers/skopeo.js';
import type { TinyImage } from '../../helpers/tiny-image.js';
import { startSilentServer, type SilentServer } from '../../helpers/silent-server.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

function recorder(): Progress & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, phase() {}, advance() {}, info() {}, warn: (m) => void warnings.push(m) };
}

let reg: TestRegistry;
let tmp: string;
let image: TinyImage;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'htpasswd', tls: true });
  tmp = await makeTempDir('bale-mirror-target-');
  image = await pushTinyImage(reg, 'ocp4/app:v1', 95);
});
afterAll(async () => {
  await reg?.stop();
  if (tmp !== undefined) await removeTempDir(tmp);
});

const options = (extra: Partial<UnpackOptions> = {}): UnpackOptions => ({
  bundleDir: tmp,
  manifestsToDir: join(tmp, 'manifests'),
  env: {},
  homeDir: tmp,
  ...extra,
});

describe('openMirror', () => {
  it('uses the credentials of --registry-config and the CA file', async () => {
    const registryConfig = await writeAuthFile(reg, join(tmp, 'auth.json'));
    const m = await openMirror(
      options({ registryConfig, caFile: reg.caFile! }),
      { registry: reg.host, prefix: 'ocp4' },
      recorder(),
    );
    expect(
      await m.client.blobExists({ registry: reg.host, repository: 'ocp4/app' }, image.config.digest),
    ).toBe(true);
    await m.close();
  });

  it('TLS verification on unless --dest-tls-verify=false; without credentials E_AUTH', async () => {
    const strict = await openMirror(options(), { registry: reg.host, prefix: '' }, recorder());
    await expect(
      strict.client.blobExists({ registry: reg.host, repository: 'ocp4/app' }, image.config.digest),
    ).rejects.toMatchObject({ code: 'E_TLS' });
    await strict.close();
    const lax = await openMirror(
      options({ destTlsVerify: false }),
      { registry: reg.host, prefix: '' },
      recorder(),
    );
    await expect(
      lax.client.blobExists({ registry: reg.host, repository: 'ocp4/app' }, image.config.digest),
    ).rejects.toMatchObject({ code: 'E_AUTH' });
    await lax.close();
  });

  describe('against a registry that never answers', () => {
    let silent: SilentServer;
    let host: string;
    beforeAll(async () => {
      silent = await startSilentServer();
      host = silent.host;
    });
    afterAll(async () => {
      await silent.stop();
    });

    it('an abort ends the request in flight at once, and close() after it does not wait', async () => {
      const controller = new AbortController();
      const m = await openMirror(
        options({ signal: controller.signal, destTlsVerify: false }),
        { registry: host, prefix: '' },
        recorder(),
      );
      const pending = m.client
        .blobExists({ registry: host, repository: 'a/b' }, `sha256:${'1'.repeat(64)}`)
        .catch((e: unknown) => e);
      const t0 = Date.now();
      while (silent.sockets.length === 0 && Date.now() - t0 < 5000)
        await new Promise((r) => setTimeout(r, 10));
      expect(silent.sockets.length).toBeGreaterThan(0);
      const aborted = Date.now();
      const reason = new Error('interrupted');
      controller.abort(reason);
      const err = await pending; // settles although the server never answers
      expect(err).toBe(reason); // the interrupt itself, not a network error
      await m.close();
      expect(Date.now() - aborted).toBeLessThan(1000);
    }, 15_000);
  });
});
