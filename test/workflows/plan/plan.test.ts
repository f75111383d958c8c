/**
 * bale plan against real registries: a source holding the synthetic release, a mirror
 * holding part of it (copied there by skopeo). Live and snapshot destinations give the
 * same sets; an image neither side has is missing; the blobs of present images are not
 * carried again.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSnapshotYaml } from '../../../src/sets/snapshot-document.js';
import { plan, type PlanOptions, type PlanResult } from '../../../src/workflows/plan/index.js';
import { snapshot } from '../../../src/workflows/snapshot/index.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { registryFlags, skopeoOk } from '../../helpers/skopeo.js';

const PREFIX = 'ocp4';
const ABSENT = `sha256:${'0'.repeat(64)}`;

const sets = (r: PlanResult) => ({
  present: r.present,
  copy: r.copy,
  missing: r.missing,
  totals: r.totals,
  blobs: r.blobs,
});

describe('bale plan', () => {
  let fx: FixtureSetup;
  let mirror: TestRegistry;
  let base: PlanOptions;
  let first: PlanResult;
  let snapshotFile: string;

  beforeAll(async () => {
    fx = await setupFixture({ auth: 'none' });
    mirror = await startRegistry({ auth: 'none' });
    base = {
      release: fx.fx.release.ref,
      graphData: fx.fx.graphData.ref,
      images: [`${fx.reg.host}/no/such@${ABSENT}`],
      env: {},
      homeDir: fx.work,
      retry: { attempts: 1 },
    };
  }, 120_000);
  afterAll(async () => {
    await mirror?.stop();
    await fx?.stop();
  });

  it('an empty mirror: everything the source has is to copy, the absent image is missing', async () => {
    first = await plan({ ...base, to: `${mirror.host}/${PREFIX}` });
    expect(first.release?.digest).toBe(fx.fx.release.digest);
    expect(first.present).toEqual([]);
    const digests = first.copy.map((c) => c.digest);
    expect(digests).toContain(fx.fx.release.digest);
    for (const c of fx.fx.components) expect(digests).toContain(c.digest);
    expect(digests).toContain(fx.fx.graphData.digest);
    expect(first.missing).toEqual([
      { name: 'no/such', digest: ABSENT, tags: [], source: `${fx.reg.host}/no/such` },
    ]);
    expect(first.totals.copy.images).toBe(first.copy.length);
    expect(first.totals.copy.bytes).toBe(first.copy.reduce((n, c) => n + (c.bytes ?? 0), 0));
    expect(first.blobs.skip).toBe(0);
    expect(first.blobs.carryBytes).toBeGreaterThan(0);
    expect(first.bundle.volumeBytes).toBeGreaterThanOrEqual(first.blobs.carryBytes);
    expect(first.bundle.diskNeeded).toBeGreaterThanOrEqual(first.bundle.volumeBytes);
    const rel = first.copy.find((c) => c.digest === fx.fx.release.digest);
    expect(first.mapping).toContain(
      `${fx.reg.host}/${fx.fx.release.repository}@${fx.fx.release.digest}=${mirror.host}/${PREFIX}/openshift/release:${rel?.tags[0] ?? ''}`,
    );
  }, 60_000);

  it('after skopeo copies the release and two components (one under another tag): present, their blobs not carried', async () => {
    const rel = first.copy.find((c) => c.digest === fx.fx.release.digest);
    const comp = first.copy.find((c) => c.digest === fx.fx.components[0]?.digest);
    for (const [img, tag] of [
      [rel, rel?.tags[0]],
      [comp, comp?.tags[0]],
    ] as const) {
      await skopeoOk([
        'copy',
        '--all',
        '--preserve-digests',
        ...registryFlags(fx.reg, 'src'),
        ...registryFlags(mirror, 'dest'),
        `docker://${img?.source ?? ''}@${img?.digest ?? ''}`,
        `docker://${mirror.host}/${PREFIX}/openshift/release:${tag ?? ''}`,
      ]);
    }
    // A third image is there under another tag only: present, with its tag still to add.
    const other = first.copy.find((c) => c.digest === fx.fx.components[1]?.digest);
    await skopeoOk([
      'copy',
      '--all',
      '--preserve-digests',
      ...registryFlags(fx.reg, 'src'),
      ...registryFlags(mirror, 'dest'),
      `docker://${other?.source ?? ''}@${other?.digest ?? ''}`,
      `docker://${mirror.host}/${PREFIX}/openshift/release:not-the-wanted-tag`,
    ]);
    const live = await plan({ ...base, to: `${mirror.host}/${PREFIX}` });
    expect(live.present.map((p) => p.digest).sort()).toEqual(
      [rel?.digest, comp?.digest, other?.digest].sort(),
    );
    expect(live.present.filter((p) => p.tagsToAdd !== undefined)).toEqual([
      { ...other, tagsToAdd: other?.tags },
    ]);
    expect(live.copy).toHaveLength(first.copy.length - 3);
    expect(live.missing.map((m) => m.digest)).toEqual([ABSENT]);
    expect(live.blobs.carryBytes).toBeLessThan(first.blobs.carryBytes);

    // The same sets from a snapshot of the mirror, carried as a file.
    const snap = await snapshot({ registry: `${mirror.host}/${PREFIX}`, env: {}, homeDir: fx.work });
    snapshotFile = join(fx.work, 'mirror-snapshot.yaml');
    await writeFile(snapshotFile, renderSnapshotYaml(snap.document));
    const fromFile = await plan({ ...base, have: snapshotFile });
    expect(fromFile.destination).toEqual({ kind: 'snapshot', where: snapshotFile });
    expect(sets(fromFile)).toEqual(sets(live));
  }, 120_000);

  it('bin/bale plan: --json with the three arrays, --strict exits 1 on missing, a bad --have exits 1', async () => {
    const args = [
      'plan',
      '--release',
      fx.fx.release.ref,
      '--graph-data',
      fx.fx.graphData.ref,
      '--have',
      snapshotFile,
      '--registry-config',
      fx.reg.authFile,
    ];
    const ok = await runBale([...args, '--json']);
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.stdout) as PlanResult & { ok: boolean };
    expect(doc.ok).toBe(true);
    expect(doc.missing).toEqual([]);
    expect(doc.present).toHaveLength(3);
    for (const e of [...doc.present, ...doc.copy]) {
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['name', 'digest', 'tags', 'bytes']));
    }
    const strict = await runBale([...args, '--image', `${fx.reg.host}/no/such@${ABSENT}`, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/missing\s+1 image/);
    expect(strict.stdout).toContain(`no/such@${ABSENT.slice(0, 19)}`);
    const human = await runBale(args);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/present\s+3 image\(s\)/);
    expect(human.stdout).toContain('(to tag: ');
    expect(human.stdout).toContain('Mapping (src=dst):');

    const bad = join(fx.work, 'bad.yaml');
    await writeFile(bad, '- name: x\n  dmap:\n    "sha256:abc": []\n');
    const refused = await runBale([...args.slice(0, -4), '--have', bad, '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, error: { code: 'E_SNAPSHOT_INVALID' } });
    const none = await runBale(['plan', '--release', fx.fx.release.ref]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--to REGISTRY\[\/PREFIX\] \(live\) or --have FILE/);
  }, 120_000);
});
