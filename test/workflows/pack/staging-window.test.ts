/**
 * Regression: a blob larger than the staging window used to wait for the window to
 * empty while blobs queued behind it (in other download slots) were admitted and
 * filled it; the writer could not consume them before the large blob, nothing was
 * left pending, and node exited 0 with no bundle. Blobs now enter the window strictly
 * in the writer's order. The window is made tiny here so the fixture's large blob is
 * far bigger than it, with many parallel downloads.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from '../../../src/workflows/pack/index.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { expectFinishedBundle } from './helpers.js';

describe('pack staging window', () => {
  let setup: FixtureSetup;

  beforeAll(async () => {
    setup = await setupFixture({ seed: 61, largeBlobBytes: 2 << 20, components: 4 });
  });
  afterAll(async () => {
    await setup?.stop();
  });

  for (const concurrency of [1, 8]) {
    it(`finishes with a blob 8x the window at --concurrency ${concurrency}`, async () => {
      const { fx, reg, work } = setup;
      const to = join(work, `bundle-${concurrency}`);
      const result = await pack({
        release: fx.release.ref,
        to,
        graphData: fx.graphData.ref,
        signatureStores: [`file://${fx.storeDir}`],
        keyrings: [fx.keyringPath],
        registryConfig: reg.authFile,
        concurrency,
        stagingWindow: 256 * 1024,
        env: {},
        homeDir: work,
        lockOwner: { pid: process.pid, hostname: hostname(), isAlive: () => false },
      });
      expect(result.release.digest).toBe(fx.release.digest);
      await expectFinishedBundle(to);
    });
  }
});
