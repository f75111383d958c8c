/**
 * A blob missing on the mirror that served an image's manifest is read from the next
 * source (here the original), with the digest unchanged; when no source has it, the
 * error names every source tried. Two real loopback registries: the fixture release in
 * the "original", its components copied by skopeo into a "mirror" that a
 * registries.conf rule puts first, then one layer deleted from the mirror through the
 * registry API (DELETE /v2/<name>/blobs/<digest>, which also clears its cache).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { skopeoInspectRaw, skopeoOk } from '../../helpers/skopeo.js';
import { expectFinishedBundle, readIndex } from './helpers.js';

const SEED = 1415;

let s: FixtureSetup;
let mirror: TestRegistry;
/** The layer the mirror lacks (component 0's last layer, in no other image). */
let missing: string;

beforeAll(async () => {
  s = await setupFixture({
    auth: 'none',
    tls: false,
    seed: SEED,
    components: 2,
    incompressibleBytes: 32 * 1024,
  });
  mirror = await startRegistry();
  for (const [i, c] of s.fx.components.entries()) {
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--src-no-creds',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      `docker://${s.reg.host}/ocp/release-art@${c.digest}`,
      `docker://${mirror.host}/mirror/release-art:c${i}`,
    ]);
  }
  const m = JSON.parse(await skopeoInspectRaw(`ocp/release-art@${s.fx.components[0]!.digest}`, s.reg)) as {
    layers: { digest: string }[];
  };
  missing = m.layers.at(-1)!.digest;
}, 180_000);
afterAll(async () => {
  await mirror?.stop();
  await s?.stop();
});

async function registriesConf(name: string, original: string): Promise<string> {
  const path = join(s.work, name);
  await writeFile(
    path,
    [
      '[[registry]]',
      `location = "${original}/ocp/release-art"`,
      '[[registry.mirror]]',
      `location = "${mirror.host}/mirror/release-art"`,
      '',
    ].join('\n'),
  );
  return path;
}

describe('pack: a blob the mirror lacks is read from the next source', () => {
  it('the mirror serves the manifests, the missing layer comes from the original, digests unchanged', async () => {
    const del = await fetch(`${mirror.url}/v2/mirror/release-art/blobs/${missing}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    const head = await fetch(`${mirror.url}/v2/mirror/release-art/blobs/${missing}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const conf = await registriesConf('fallback.conf', s.reg.host);
    const bundle = join(s.work, 'b-fallback');
    const r = await runBale([...s.packArgs(), '--registries-conf', conf, '--to', bundle, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    await expectFinishedBundle(bundle);
    const index = await readIndex(bundle);
    // The components were read from the mirror (its access log), recorded under the name
    // image-references gives them (mirror configuration maps that name)...
    const mirrorLog = await readFile(mirror.logFile, 'utf8');
    const originLog = await readFile(s.reg.logFile, 'utf8');
    for (const c of s.fx.components) {
      expect(mirrorLog).toContain(`GET /v2/mirror/release-art/manifests/${c.digest}`);
      expect(index.images.find((i) => i.digest === c.digest)?.source).toBe(`${s.reg.host}/ocp/release-art`);
    }
    // ...the mirror was asked for the layer it lacks, then the original served it.
    expect(mirrorLog).toContain(`HEAD /v2/mirror/release-art/blobs/${missing}`);
    expect(originLog).toContain(`GET /v2/ocp/release-art/blobs/${missing}`);
    // ...and the layer it lacks is in the bundle all the same, verified by its digest.
    expect(index.entries.some((e) => e.path === `v2/openshift/release/blobs/${missing}`)).toBe(true);
    const v = await runBale(['verify', bundle, '--keyring', s.fx.keyringPath]);
    expect(v.code, v.stdout).toBe(0);
  }, 180_000);

  it('no source has the blob: E_NO_SOURCE naming every source tried, nothing finished', async () => {
    const conf = await registriesConf('nowhere.conf', s.reg.host);
    // The layer is missing on the mirror (deleted above); delete it from the original too.
    const del = await fetch(`${s.reg.url}/v2/ocp/release-art/blobs/${missing}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    const bundle = join(s.work, 'b-nowhere');
    const r = await runBale([...s.packArgs(), '--registries-conf', conf, '--to', bundle, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_NO_SOURCE]');
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toContain(`${mirror.host}/mirror/release-art@${missing}`);
    expect(r.stderr).toContain(`${s.reg.host}/ocp/release-art@${missing}`);
    expect(r.stderr).not.toContain('bundle.json');
  }, 180_000);
});
