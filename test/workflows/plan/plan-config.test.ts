/**
 * `--config` for bale plan and bale mirror (real loopback registries): the image set
 * pack reads (an oc-mirror ImageSetConfiguration here) gives the same M as the flags
 * that name the same images; a blocked image is left out of the plan; with no release
 * in the set, plan and mirror still plan the other images (only pack needs a release).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirror } from '../../../src/workflows/mirror/index.js';
import { plan, type PlanOptions, type PlanResult } from '../../../src/workflows/plan/index.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';

const ABSENT = `sha256:${'0'.repeat(64)}`;

const sets = (r: PlanResult) => ({ present: r.present, copy: r.copy, missing: r.missing, totals: r.totals });

function isc(body: string[]): string {
  return ['kind: ImageSetConfiguration', 'apiVersion: mirror.openshift.io/v2alpha1', ...body, ''].join('\n');
}

describe('plan and mirror --config', () => {
  let fx: FixtureSetup;
  let dest: TestRegistry;
  let common: PlanOptions;
  let dir: string;

  beforeAll(async () => {
    fx = await setupFixture({ auth: 'none', seed: 61 });
    dest = await startRegistry({ auth: 'none' });
    dir = join(fx.work, 'cfg');
    await mkdir(dir, { recursive: true });
    common = { env: {}, homeDir: fx.work, retry: { attempts: 1 }, to: `${dest.host}/ocp4` };
  }, 120_000);
  afterAll(async () => {
    await dest?.stop();
    await fx?.stop();
  });

  it('an ImageSetConfiguration gives the same sets as the flags naming the same images; blocked images are left out', async () => {
    const cfg = join(dir, 'isc.yaml');
    await writeFile(
      cfg,
      isc([
        'mirror:',
        '  platform:',
        `    release: ${fx.fx.release.ref}`,
        '  additionalImages:',
        `  - name: ${fx.reg.host}/no/such@${ABSENT}`,
        `  - name: ${fx.reg.host}/tools/secret@${ABSENT.replace(/0$/, '1')}`,
        '  blockedImages:',
        '  - name: /tools/secret',
      ]),
    );
    const viaConfig = await plan({ ...common, config: cfg });
    const viaFlags = await plan({
      ...common,
      release: fx.fx.release.ref,
      images: [`${fx.reg.host}/no/such@${ABSENT}`],
    });
    expect(sets(viaConfig)).toEqual(sets(viaFlags));
    expect(viaConfig.release?.digest).toBe(fx.fx.release.digest);
    expect(viaConfig.missing.map((m) => m.name)).toEqual(['no/such']);
    expect(JSON.stringify(viaConfig)).not.toContain('tools/secret');
    expect(viaConfig.copy.map((c) => c.digest)).toContain(fx.fx.release.digest);
  }, 120_000);

  it('a set with no release plans its other images (bale plan --config on the command line)', async () => {
    const cfg = join(dir, 'no-release.yaml');
    await writeFile(cfg, isc(['mirror:', '  additionalImages:', `  - name: ${fx.fx.graphData.ref}`]));
    const r = await runBale([
      'plan',
      '--config',
      cfg,
      '--to',
      `${dest.host}/ocp4`,
      '--dest-tls-verify=false',
      '--src-tls-verify=false',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { copy: { digest: string }[]; release?: unknown };
    expect(out.release).toBeUndefined();
    expect(out.copy.map((c) => c.digest)).toContain(fx.fx.graphData.digest);
  }, 120_000);

  it('mirror --config without --confirm: the plan of the set, nothing copied', async () => {
    const cfg = join(dir, 'isc.yaml');
    const r = await mirror({
      ...common,
      to: `${dest.host}/ocp4`,
      config: cfg,
      keyrings: [fx.fx.keyringPath],
      signatureStores: [`file://${fx.fx.storeDir}`],
    });
    expect(r.confirmed).toBe(false);
    expect(r.copied).toBeUndefined();
    expect(r.signatures.release).toBeGreaterThan(0);
    expect(r.plan.copy.map((c) => c.digest)).toContain(fx.fx.release.digest);
    expect(r.plan.present).toEqual([]);
  }, 120_000);

  it('a malformed --config is E_IMAGESET_INVALID for plan', async () => {
    const cfg = join(dir, 'bad.yaml');
    await writeFile(cfg, 'kind: ImageSetConfiguration\napiVersion: nope\nmirror: [\n');
    await expect(plan({ ...common, config: cfg })).rejects.toMatchObject({ code: 'E_IMAGESET_INVALID' });
  });
});
