/**
 * An interrupt during `bale snapshot` stops the work, not only the wait. Of a registry:
 * the requests in flight end at once and no further request reaches the registry (the
 * fault proxy in front of the real registry counts them). Of a bundle with --verify: the
 * audit stops reading volumes (it used to run to the end and return a snapshot).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../../../fixtures/hostile/damage.js';
import { buildValidBundle, makeSigningKey } from '../../../fixtures/hostile/valid-bundle.js';
import { BaleError } from '../../../src/errors.js';
import { snapshot } from '../../../src/workflows/snapshot/index.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { PREFIX, pushContent } from './registry-content.js';

describe('snapshot of a registry, interrupted', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none' });
    await pushContent(reg);
    // Every manifest request hangs 1.5 s: the snapshot is mid-way when the interrupt comes.
    proxy = await startFaultProxy(reg.host, {
      rules: [{ method: 'GET|HEAD', path: /\/manifests\//, fault: { kind: 'stall', ms: 1_500 } }],
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  it('ends the requests in flight, sends none after the abort, and rejects with the interrupt', async () => {
    const ac = new AbortController();
    const interrupt = new BaleError('E_INTERRUPTED', 'interrupted by the test', {
      details: { signal: 'SIGINT' },
    });
    const run = snapshot({
      registry: `${proxy.host}/${PREFIX}`,
      env: {},
      homeDir: '/nonexistent',
      concurrency: 2,
      signal: ac.signal,
    });
    const manifestRequests = (): number => proxy.log.filter((e) => e.path.includes('/manifests/')).length;
    for (let i = 0; i < 1_000 && manifestRequests() === 0; i++) await sleep(10);
    expect(manifestRequests()).toBeGreaterThan(0);
    const started = Date.now();
    ac.abort(interrupt);
    await expect(run).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
    expect(Date.now() - started).toBeLessThan(1_000);
    const seen = proxy.log.length;
    // Longer than the stall: a request left running would be answered and followed by more.
    await sleep(2_500);
    expect(proxy.log).toHaveLength(seen);
    expect(proxy.log.every((e) => e.done)).toBe(true);
  });
});

describe('snapshot --bundle --verify, interrupted', () => {
  it('stops the audit and rejects with the interrupt; no snapshot is returned', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bale-snap-int-'));
    try {
      const key = await makeSigningKey();
      const b = await buildValidBundle(join(root, 'bundle'), key);
      const ac = new AbortController();
      const interrupt = new BaleError('E_INTERRUPTED', 'interrupted by the test');
      let volumes = 0;
      const run = snapshot({
        bundleDir: b.dir,
        verifyBundle: true,
        keyrings: [key.keyring],
        env: {},
        homeDir: '/nonexistent',
        signal: ac.signal,
        progress: {
          phase: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          advance: () => {
            // the first progress of the audit: interrupt it there
            volumes++;
            ac.abort(interrupt);
          },
        },
      });
      await expect(run).rejects.toBe(interrupt);
      expect(volumes).toBeGreaterThan(0);
    } finally {
      await removeDir(root);
    }
  }, 60_000);
});
