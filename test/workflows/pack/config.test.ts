/**
 * bale pack --config: the content an image set names, through pack, against a real
 * loopback registry: an oc-mirror ImageSetConfiguration (the release, additional
 * images, a blocked image left out), a plain promoter manifest and a thin-manifest
 * directory (images pinned by digest, carried under their name with the dmap tags),
 * combined with the flags; and the refusals (a blocked release component, no release
 * at all), each before anything is written. Channels and several releases per bundle:
 * test/workflows/pack/update-path.test.ts.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { pushTinyImage } from '../../helpers/skopeo.js';
import type { TinyImage } from '../../helpers/tiny-image.js';
import { expectFinishedBundle, readIndex } from './helpers.js';

const SEED = 53;

let s: FixtureSetup;
let extra: TinyImage;
let blocked: TinyImage;
let apple: TinyImage;
let banana: TinyImage;

beforeAll(async () => {
  s = await setupFixture({
    auth: 'none',
    tls: true,
    seed: SEED,
    components: 2,
    incompressibleBytes: 64 * 1024,
  });
  extra = await pushTinyImage(s.reg, 'tools/extra:1.0', SEED + 1);
  blocked = await pushTinyImage(s.reg, 'tools/secret:1.0', SEED + 2);
  apple = await pushTinyImage(s.reg, 'staging/apple:scratch', SEED + 3);
  banana = await pushTinyImage(s.reg, 'staging-fruit/banana:scratch', SEED + 4);
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

/** The fixture's pack arguments without --release (the image set names it, or a test adds it). */
function argsWithoutRelease(): string[] {
  const args = s.packArgs();
  args.splice(args.indexOf('--release'), 2);
  return args;
}

async function paths(bundle: string): Promise<Set<string>> {
  return new Set((await readIndex(bundle)).entries.map((e) => e.path));
}

async function expectNothingFinished(bundle: string): Promise<void> {
  const names = await readdir(bundle).catch(() => [] as string[]);
  expect(names.filter((n) => n !== '.bale')).toEqual([]);
}

async function write(name: string, text: string): Promise<string> {
  const path = join(s.work, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

function isc(body: string[]): string {
  return ['kind: ImageSetConfiguration', 'apiVersion: mirror.openshift.io/v2alpha1', ...body, ''].join('\n');
}

describe('bale pack --config', () => {
  it('ImageSetConfiguration: the release, additionalImages, blockedImages left out with a warning', async () => {
    const cfg = await write(
      'isc.yaml',
      isc([
        'mirror:',
        '  platform:',
        '    architectures: [amd64]',
        '    graph: true',
        `    release: ${s.fx.release.ref}`,
        '  additionalImages:',
        `  - name: ${s.reg.host}/tools/extra:1.0`,
        `  - name: ${s.reg.host}/tools/secret:1.0`,
        '  blockedImages:',
        '  - name: /tools/secret',
      ]),
    );
    const bundle = join(s.work, 'b-isc');
    const r = await runBale([...argsWithoutRelease(), '--config', cfg, '--to', bundle]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `${s.reg.host}/tools/secret:1.0 is not carried: blockedImages "/tools/secret"`,
    );
    await expectFinishedBundle(bundle);
    const p = await paths(bundle);
    expect(p).toContain(`v2/openshift/release/manifests/${s.fx.release.digest}`);
    for (const c of s.fx.components) expect(p).toContain(`v2/openshift/release/manifests/${c.digest}`);
    expect(p).toContain(`v2/tools/extra/manifests/${extra.manifest.digest}`);
    expect(p).toContain('v2/tools/extra/manifests/1.0');
    expect([...p].some((x) => x.includes('tools/secret') || x.includes(blocked.manifest.digest))).toBe(false);
  }, 120_000);

  it('plain promoter manifest with --release: images by digest under their name, dmap tags', async () => {
    const cfg = await write(
      'promoter.yaml',
      [
        'registries:',
        `- name: ${s.reg.host}/staging`,
        '  src: true',
        '- name: mirror.example.com/prod',
        'images:',
        '- name: apple',
        '  dmap:',
        `    "${apple.manifest.digest}": ["1.1", "latest"]`,
        '',
      ].join('\n'),
    );
    const bundle = join(s.work, 'b-promoter');
    const r = await runBale([...s.packArgs(), '--config', cfg, '--to', bundle, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = await paths(bundle);
    expect(p).toContain(`v2/apple/manifests/${apple.manifest.digest}`);
    expect(p).toContain('v2/apple/manifests/1.1');
    expect(p).toContain('v2/apple/manifests/latest');
    expect(p).toContain(`v2/openshift/release/manifests/${s.fx.release.digest}`);
  }, 120_000);

  it('thin-manifest directory, with --image added', async () => {
    await write(
      'thin/manifests/fruit/promoter-manifest.yaml',
      `registries:\n- name: ${s.reg.host}/staging-fruit\n  src: true\n`,
    );
    await write(
      'thin/images/fruit/images.yaml',
      `- name: banana\n  dmap:\n    "${banana.manifest.digest}": ["2.0"]\n`,
    );
    const bundle = join(s.work, 'b-thin');
    const r = await runBale([
      ...s.packArgs(),
      '--config',
      join(s.work, 'thin'),
      '--image',
      `${s.reg.host}/tools/extra:1.0`,
      '--to',
      bundle,
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = await paths(bundle);
    expect(p).toContain(`v2/banana/manifests/${banana.manifest.digest}`);
    expect(p).toContain('v2/banana/manifests/2.0');
    expect(p).toContain('v2/tools/extra/manifests/1.0');
  }, 120_000);

  it('refuses an image set that names no release and no channel [E_CONFIG], nothing written', async () => {
    const cfg = await write(
      'refuse-no-release.yaml',
      isc(['mirror:', '  additionalImages:', '  - name: quay.io/a/b:1']),
    );
    const bundle = join(s.work, 'b-refuse-no-release');
    const r = await runBale([...argsWithoutRelease(), '--config', cfg, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_CONFIG]');
    expect(r.stderr).toContain('names no release');
    await expectNothingFinished(bundle);
  });

  it('a blockedImages rule that matches a release component is an error naming it', async () => {
    const cfg = await write(
      'block-component.yaml',
      isc([
        'mirror:',
        '  additionalImages:',
        `  - name: ${s.reg.host}/tools/extra:1.0`,
        '  blockedImages:',
        '  - name: release-art',
      ]),
    );
    const bundle = join(s.work, 'b-block-component');
    const r = await runBale([...s.packArgs(), '--config', cfg, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_CONFIG]');
    expect(r.stderr).toContain('matches release component');
    await expectNothingFinished(bundle);
  }, 60_000);

  it('neither --release nor --config is a usage error', async () => {
    const r = await runBale(['pack', '--to', join(s.work, 'b-usage')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --release, or --config');
  });

  it('a malformed image set is E_IMAGESET_INVALID before any download', async () => {
    const cfg = await write('bad-isc.yaml', isc(['mirror:', '  platform:', '    relase: x']));
    const bundle = join(s.work, 'b-bad-isc');
    const r = await runBale([...s.packArgs(), '--config', cfg, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_IMAGESET_INVALID]');
    expect(r.stderr).toContain('relase');
    await expectNothingFinished(bundle);
  });
});
