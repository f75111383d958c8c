/**
 * An interrupt during `unpack --to` (the library call, as the CLI makes it on SIGINT)
 * stops the work instead of abandoning it: the uploads in flight end at once, no request
 * reaches the mirror after the abort (the fault proxy in front of the real registry
 * counts them), the call ends with E_INTERRUPTED, and nothing half-written is visible:
 * no manifest and no tag was pushed, so no image of the bundle exists in the mirror.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpack } from '../../../src/workflows/unpack/index.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { interruptAndWatch } from '../../helpers/interrupt.js';
import { waitFor } from '../../helpers/wait.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { mirrorHas, packFixture, type PackedBundle } from './unpack-helpers.js';

const isUpload = (path: string): boolean => /\/blobs\/uploads\//.test(path);

describe('unpack --to, interrupted mid-upload', () => {
  let b: PackedBundle;
  let dest: TestRegistry;
  let proxy: FaultProxy;
  let state: string;
  beforeAll(async () => {
    b = await packFixture(1313);
    dest = await startRegistry();
    // Upload bodies crawl: the run is mid-way through its blobs when the interrupt comes.
    proxy = await startFaultProxy(dest.host, {
      rules: [
        {
          method: 'PUT|PATCH',
          path: /\/blobs\/uploads\//,
          fault: { kind: 'throttle', bytesPerSecond: 64 * 1024, on: 'request' },
        },
      ],
    });
    state = await makeTempDir('bale-unpack-int-');
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
    await dest?.stop();
    await b?.setup.stop();
    if (state) await removeTempDir(state);
  });

  for (const [mode, verifyFirst] of [
    ['one pass', false],
    ['--verify-first', true],
  ] as const) {
    it(`${mode}: no request after the abort, E_INTERRUPTED, no manifest or tag in the mirror`, async () => {
      const prefix = verifyFirst ? 'two' : 'one';
      const ac = new AbortController();
      const from = proxy.log.length;
      const run = unpack({
        bundleDir: b.bundleDir,
        to: `${proxy.host}/${prefix}`,
        destTlsVerify: false,
        keyrings: [b.keyring],
        manifestsToDir: join(state, `manifests-${prefix}`),
        stateDir: join(state, `uploads-${prefix}`),
        verifyFirst,
        env: {},
        homeDir: state,
        signal: ac.signal,
      });
      const uploads = (): number =>
        proxy.log.slice(from).filter((e) => isUpload(e.path) && e.method !== 'POST').length;
      await waitFor(() => uploads() > 0, 60_000, 'an upload');
      await interruptAndWatch(run, ac, proxy.log);
      expect(proxy.log.slice(from).some((e) => e.method === 'PUT' && e.path.includes('/manifests/'))).toBe(
        false,
      );
      const release = b.index.releases[0];
      expect(await mirrorHas(dest, prefix, release?.repository ?? '', release?.digest ?? '')).toBe(false);
    }, 300_000);
  }
});
