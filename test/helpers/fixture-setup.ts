import { join } from 'node:path';
import {
  buildFixtureRelease,
  type FixtureRelease,
  type FixtureReleaseOptions,
  fixturePackArgs,
} from '../../fixtures/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { makeTempDir, removeTempDir } from './tmp.js';

export interface FixtureSetup {
  reg: TestRegistry;
  fx: FixtureRelease;
  work: string;
  /** bale pack arguments for this fixture (without --to). */
  packArgs(): string[];
  stop(): Promise<void>;
}

/** A source registry (any variant) holding the synthetic release, and a work directory. */
export async function setupFixture(
  opts: {
    auth?: 'none' | 'htpasswd' | 'token';
    tls?: boolean;
    seed?: number;
  } & Partial<FixtureReleaseOptions> = {},
): Promise<FixtureSetup> {
  const { auth, tls, seed, ...fixtureOpts } = opts;
  const reg = await startRegistry({ auth: auth ?? 'none', tls: tls ?? false });
  const work = await makeTempDir('bale-fx-');
  const credentials = await loadCredentials({ registryConfig: reg.authFile, env: {}, homeDir: work });
  const client = new RegistryClient({ credentials, caFile: reg.caFile });
  let fx: FixtureRelease;
  try {
    fx = await buildFixtureRelease(client, {
      ...fixtureOpts,
      registry: reg.host,
      seed: seed ?? 1,
      workDir: join(work, 'fx'),
    });
  } finally {
    await client.close();
  }
  return {
    reg,
    fx,
    work,
    packArgs: () => [
      ...fixturePackArgs(fx),
      '--registry-config',
      reg.authFile,
      ...(reg.caFile ? ['--ca-file', reg.caFile] : []),
    ],
    stop: async () => {
      await reg.stop();
      await removeTempDir(work);
    },
  };
}
