/**
 * An interrupt during `pack` (the library call, as the CLI makes it on SIGINT) stops
 * the downloads instead of abandoning them: no request reaches the source registry after
 * the abort (the fault proxy in front of the real registry counts them), the call ends
 * with E_INTERRUPTED, and no finished-looking bundle is left (no bundle.json, no
 * SHA256SUMS: only pack's resumable state).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from '../../../src/workflows/pack/index.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { interruptAndWatch } from '../../helpers/interrupt.js';
import { waitFor } from '../../helpers/wait.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';

describe('pack, interrupted mid-download', () => {
  let setup: FixtureSetup;
  let proxy: FaultProxy;
  beforeAll(async () => {
    setup = await setupFixture({ seed: 1414 });
    // Blob bodies crawl: the pack is mid-way through its downloads when the interrupt comes.
    proxy = await startFaultProxy(setup.reg.host, {
      rules: [
        { method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: 64 * 1024 } },
      ],
    });
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
    await setup?.stop();
  });

  it('no request after the abort, E_INTERRUPTED, no bundle.json or SHA256SUMS written', async () => {
    const to = join(setup.work, 'bundle');
    const via = (ref: string): string => ref.replace(setup.reg.host, proxy.host);
    const ac = new AbortController();
    const run = pack({
      release: via(setup.fx.release.ref),
      graphData: via(setup.fx.graphData.ref),
      signatureStores: [`file://${setup.fx.storeDir}`],
      keyrings: [setup.fx.keyringPath],
      to,
      registryConfig: setup.reg.authFile,
      srcTlsVerify: false,
      env: {},
      homeDir: setup.work,
      lockOwner: { pid: process.pid, hostname: 'test', isAlive: () => true },
      signal: ac.signal,
    });
    const blobGets = (): number =>
      proxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/')).length;
    await waitFor(() => blobGets() >= 2, 120_000, 'two blob downloads');
    await interruptAndWatch(run, ac, proxy.log);
    const names = await readdir(to);
    expect(names).not.toContain('bundle.json');
    expect(names).not.toContain('SHA256SUMS');
  }, 300_000);
});
