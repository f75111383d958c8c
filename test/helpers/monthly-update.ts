/**
 * The monthly update, as the incremental tests need it: the fixture release A in a
 * source registry (setupFixture) and release B built on the same seed in the same
 * registry (it shares A's base, runtime and random layers; its own layers and configs
 * are new), signed by the same keys.
 */
import { join } from 'node:path';
import { buildFixtureRelease, fixturePackArgs, type FixtureRelease } from '../../fixtures/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { setupFixture, type FixtureSetup } from './fixture-setup.js';

export interface MonthlyUpdate {
  /** Release A's setup: the source registry, the work directory, A's pack arguments. */
  setup: FixtureSetup;
  /** Release B, next to A in the same registry. */
  fxB: FixtureRelease;
  /** bale pack arguments for B, with A's keyring (without --to). */
  packArgsB(): string[];
}

export async function setupMonthlyUpdate(opts: { seed: number; versionB?: string }): Promise<MonthlyUpdate> {
  const setup = await setupFixture({ seed: opts.seed });
  const client = new RegistryClient({ tlsVerify: false });
  let fxB: FixtureRelease;
  try {
    fxB = await buildFixtureRelease(client, {
      registry: setup.reg.host,
      seed: opts.seed,
      version: opts.versionB ?? '4.18.8',
      workDir: join(setup.work, 'fx-b'),
      signingKey: setup.fx.keys[0],
      secondSigningKey: setup.fx.keys[1],
    });
  } catch (err) {
    await setup.stop();
    throw err;
  } finally {
    await client.close();
  }
  return { setup, fxB, packArgsB: () => [...fixturePackArgs(fxB), '--keyring', setup.fx.keyringPath] };
}
