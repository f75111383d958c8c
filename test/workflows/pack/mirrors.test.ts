/**
 * bale pack with content from mirrors: the release payload's image-references name
 * quay.io while every component lives only in a loopback registry. The pack succeeds
 * with --idms-file, with --icsp-file and with --registries-conf, reading each image
 * from its mirror with the digests unchanged; the release pullspec itself may be a
 * mirrored name. Without any mirror configuration the host's own error says which options would help.
 * No test reaches the internet: with a mirror configured quay.io is never needed (and
 * the IDMS and registries.conf rules never contact it), and the refusal is tested with
 * a payload naming a closed loopback port.
 */
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { freePort } from '../../helpers/tmp.js';
import { expectFinishedBundle, readIndex } from './helpers.js';

const SEED = 47;
const SMALL = { components: 2, incompressibleBytes: 64 * 1024 };

let s: FixtureSetup;
let closed: FixtureSetup;
let closedHost: string;

beforeAll(async () => {
  s = await setupFixture({ auth: 'none', tls: true, seed: SEED, payloadRegistry: 'quay.io', ...SMALL });
  closedHost = `127.0.0.1:${await freePort()}`;
  closed = await setupFixture({
    auth: 'none',
    tls: true,
    seed: SEED + 1,
    payloadRegistry: closedHost,
    ...SMALL,
  });
}, 120_000);
afterAll(async () => {
  await s?.stop();
  await closed?.stop();
});

/** The pack arguments with --release replaced. */
function argsWithRelease(fx: FixtureSetup, release: string): string[] {
  const args = fx.packArgs();
  args[args.indexOf('--release') + 1] = release;
  return args;
}

/** No volume, no index: at most pack's working state (`.bale/`, staged metadata kept for a re-run). */
async function expectNothingFinished(bundle: string): Promise<void> {
  const names = await readdir(bundle).catch(() => [] as string[]);
  expect(names.filter((n) => n !== '.bale')).toEqual([]);
}

async function expectCarriesEveryComponent(bundle: string): Promise<void> {
  await expectFinishedBundle(bundle);
  const paths = new Set((await readIndex(bundle)).entries.map((e) => e.path));
  for (const c of s.fx.components) {
    expect(paths, c.name).toContain(`v2/openshift/release/manifests/${c.digest}`);
  }
  expect(paths).toContain(`v2/openshift/release/manifests/${s.fx.release.digest}`);
}

describe('bale pack: content from mirrors', () => {
  it('the payload names quay.io: packs with --idms-file, the release named by its quay.io digest', async () => {
    const idms = join(s.work, 'idms.yaml');
    await writeFile(
      idms,
      [
        'apiVersion: config.openshift.io/v1',
        'kind: ImageDigestMirrorSet',
        'metadata:',
        '  name: loopback',
        'spec:',
        '  imageDigestMirrors:',
        '  - source: quay.io/ocp/release-art',
        `    mirrors: [${s.reg.host}/ocp/release-art]`,
        '    mirrorSourcePolicy: NeverContactSource',
        '  - source: quay.io/openshift-release-dev/ocp-release',
        `    mirrors: [${s.reg.host}/ocp/release]`,
        '    mirrorSourcePolicy: NeverContactSource',
        '',
      ].join('\n'),
    );
    const bundle = join(s.work, 'b-idms');
    const release = `quay.io/openshift-release-dev/ocp-release@${s.fx.release.digest}`;
    const r = await runBale([...argsWithRelease(s, release), '--idms-file', idms, '--to', bundle, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { release: { digest: string; source: string } };
    expect(doc.release.digest).toBe(s.fx.release.digest);
    expect(doc.release.source).toBe(`${s.reg.host}/ocp/release`);
    await expectCarriesEveryComponent(bundle);
  }, 120_000);

  it('packs with --icsp-file (the release by its loopback tag)', async () => {
    const icsp = join(s.work, 'icsp.yaml');
    await writeFile(
      icsp,
      [
        'apiVersion: operator.openshift.io/v1alpha1',
        'kind: ImageContentSourcePolicy',
        'metadata:',
        '  name: loopback',
        'spec:',
        '  repositoryDigestMirrors:',
        '  - source: quay.io/ocp',
        `    mirrors: [${s.reg.host}/ocp]`,
        '',
      ].join('\n'),
    );
    const bundle = join(s.work, 'b-icsp');
    const r = await runBale([...s.packArgs(), '--icsp-file', icsp, '--to', bundle, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectCarriesEveryComponent(bundle);
  }, 120_000);

  it('packs with --registries-conf (mirror tables, the original blocked)', async () => {
    const conf = join(s.work, 'registries.conf');
    await writeFile(
      conf,
      [
        '[[registry]]',
        'prefix = "quay.io"',
        'location = "quay.io"',
        'blocked = true',
        '[[registry.mirror]]',
        `location = "${s.reg.host}"`,
        '',
      ].join('\n'),
    );
    const bundle = join(s.work, 'b-conf');
    const r = await runBale([...s.packArgs(), '--registries-conf', conf, '--to', bundle, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectCarriesEveryComponent(bundle);
  }, 120_000);

  it('without mirror configuration: the error of the host itself, its hint naming the three options, nothing written', async () => {
    const bundle = join(closed.work, 'b-none');
    const r = await runBale([...closed.packArgs(), '--to', bundle], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /cannot reach 127\.0\.0\.1:\d+.*ECONNREFUSED.*\[E_(NETWORK|RETRIES_EXHAUSTED)\]/,
    );
    expect(r.stderr).toContain(closedHost);
    expect(r.stderr).toContain('If the content lives elsewhere, tell bale where');
    for (const o of ['--idms-file', '--icsp-file', '--registries-conf']) expect(r.stderr).toContain(o);
    await expectNothingFinished(bundle);
  }, 120_000);

  it('a mirror without the content: the error names the mirror and the original tried', async () => {
    const idms = join(closed.work, 'empty-mirror.yaml');
    await writeFile(
      idms,
      [
        'apiVersion: config.openshift.io/v1',
        'kind: ImageDigestMirrorSet',
        'metadata:',
        '  name: empty',
        'spec:',
        '  imageDigestMirrors:',
        `  - source: ${closedHost}/ocp`,
        `    mirrors: [${closed.reg.host}/nothing-here]`,
        '',
      ].join('\n'),
    );
    const bundle = join(closed.work, 'b-empty');
    const r = await runBale([...closed.packArgs(), '--idms-file', idms, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_NO_SOURCE]');
    expect(r.stderr).toContain(`${closed.reg.host}/nothing-here/release-art@sha256:`);
    expect(r.stderr).toContain(`${closedHost}/ocp/release-art@sha256:`);
    expect(r.stderr).toContain('Check the mirrors named above');
    await expectNothingFinished(bundle);
  }, 120_000);

  it('a malformed mirror file stops pack before any download', async () => {
    const bad = join(s.work, 'bad.yaml');
    await writeFile(bad, 'apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec: 3\n');
    const bundle = join(s.work, 'b-bad');
    const r = await runBale([...s.packArgs(), '--idms-file', bad, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_MIRROR_CONFIG_INVALID]');
    expect(r.stderr).toContain(bad);
    await expect(access(bundle)).rejects.toThrow();
  }, 60_000);
});
