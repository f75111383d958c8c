/**
 * bin/bale mirror as a process: a dry run exits 0 and writes nothing, --confirm copies
 * (skopeo then finds the release by digest and tag), a second run copies nothing, a
 * wrong keyring and an unreachable destination exit 1 with a clear JSON error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { registryFlags, skopeoOk } from '../../helpers/skopeo.js';
import { freePort } from '../../helpers/tmp.js';

const WRONG_KEYRING = new URL('../../../keys/redhat-release-key-2.asc', import.meta.url).pathname;
const writes = (p: FaultProxy) => p.log.filter((r) => /^(PUT|POST|PATCH|DELETE)$/.test(r.method));

describe('bin/bale mirror', () => {
  let fx: FixtureSetup;
  let dest: TestRegistry;
  let proxy: FaultProxy;
  let args: string[];

  beforeAll(async () => {
    fx = await setupFixture({ auth: 'none' });
    dest = await startRegistry({ auth: 'none' });
    proxy = await startFaultProxy(dest.host);
    args = [
      'mirror',
      '--release',
      fx.fx.release.ref,
      '--signature-store',
      `file://${fx.fx.storeDir}`,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--registry-config',
      fx.reg.authFile,
    ];
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await dest?.stop();
    await fx?.stop();
  });

  it('a wrong keyring exits 1 with E_SIGNATURE_NONE, nothing written', async () => {
    const r = await runBale([
      ...args,
      '--keyring',
      WRONG_KEYRING,
      '--to',
      `${proxy.host}/ocp4`,
      '--confirm',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'E_SIGNATURE_NONE' } });
    expect(writes(proxy)).toEqual([]);
  }, 60_000);

  it('dry run, then --confirm, then a second run that copies nothing', async () => {
    const withKey = [...args, '--keyring', fx.fx.keyringPath, '--to', `${proxy.host}/ocp4`];
    proxy.log.length = 0;
    const dry = await runBale(withKey);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: nothing was written');
    expect(dry.stdout).toMatch(/copy\s+\d+ image/);
    expect(writes(proxy)).toEqual([]);

    const done = await runBale([...withKey, '--confirm', '--json']);
    expect(done.code).toBe(0);
    const doc = JSON.parse(done.stdout) as { ok: boolean; copied: { images: number; blobsUploaded: number } };
    expect(doc.ok).toBe(true);
    expect(doc.copied.images).toBeGreaterThan(fx.fx.components.length);
    expect(doc.copied.blobsUploaded).toBeGreaterThan(0);
    const byDigest = await skopeoOk([
      'inspect',
      '--format',
      '{{.Digest}}',
      ...registryFlags(dest, ''),
      `docker://${dest.host}/ocp4/openshift/release@${fx.fx.release.digest}`,
    ]);
    expect(byDigest.stdout.trim()).toBe(fx.fx.release.digest);

    proxy.log.length = 0;
    const again = await runBale([...withKey, '--confirm']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Copied 0 image\(s\): 0 blob\(s\) uploaded/);
    expect(writes(proxy)).toEqual([]);
  }, 180_000);

  it('an unreachable destination exits 1 and names it', async () => {
    const port = await freePort();
    const r = await runBale([
      ...args,
      '--keyring',
      fx.fx.keyringPath,
      '--to',
      `127.0.0.1:${port}/ocp4`,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const err = (JSON.parse(r.stdout) as { error: { message: string; hint?: string } }).error;
    expect(err.message).toContain(`127.0.0.1:${port}`);
  }, 60_000);
});
