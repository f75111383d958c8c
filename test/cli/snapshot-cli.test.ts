/** bin/bale snapshot as a process: output on stdout, exit codes, errors on stderr (and as JSON). */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSnapshot, renderSnapshotYaml } from '../../src/sets/snapshot-document.js';
import { buildValidBundle, FIXTURE_REPO, makeSigningKey } from '../../fixtures/hostile/valid-bundle.js';
import { runBale } from '../helpers/bale.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { PREFIX, asRecord, pushContent, type PushedContent } from '../workflows/snapshot/registry-content.js';

describe('bale snapshot', () => {
  let reg: TestRegistry;
  let tokenReg: TestRegistry;
  let content: PushedContent;
  let tmp: string;
  beforeAll(async () => {
    tmp = await makeTempDir('bale-snap-cli-');
    reg = await startRegistry({ auth: 'htpasswd', tls: true });
    content = await pushContent(reg);
    tokenReg = await startRegistry({
      auth: 'token',
      token: { grant: (_user, requested) => (requested.type === 'registry' ? [] : requested.actions) },
    });
    await pushContent(tokenReg, 2);
  }, 90_000);
  afterAll(async () => {
    await reg?.stop();
    await tokenReg?.stop();
    if (tmp) await removeTempDir(tmp);
  });

  const flags = (r: TestRegistry): string[] => [
    '--registry-config',
    r.authFile,
    ...(r.caFile !== undefined ? ['--ca-file', r.caFile] : []),
  ];

  it('prints images.yaml on stdout (TLS + credentials), the same bytes every run', async () => {
    const a = await runBale(['snapshot', `${reg.host}/${PREFIX}`, ...flags(reg)]);
    expect(a.stderr).not.toMatch(/error/);
    expect(a.code).toBe(0);
    const doc = parseSnapshot(a.stdout, 'stdout');
    expect(asRecord(doc)).toEqual(content.expected);
    expect(a.stdout).toBe(renderSnapshotYaml(doc));
    const b = await runBale(['snapshot', `${reg.host}/${PREFIX}`, ...flags(reg), '--concurrency', '1']);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('--output csv, --minimal and --json', async () => {
    const csv = await runBale(['snapshot', `${reg.host}/${PREFIX}`, ...flags(reg), '-o', 'csv', '--minimal']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[0]).toBe('name,digest,tag');
    expect(asRecord(parseSnapshot(csv.stdout, 'csv'))).toEqual(content.minimal);
    const json = await runBale(['snapshot', `${reg.host}/${PREFIX}`, ...flags(reg), '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; source: string; images: unknown };
    expect(parsed.ok).toBe(true);
    expect(parsed.source).toBe(`${reg.host}/${PREFIX}`);
    expect(asRecord(parseSnapshot(json.stdout, 'json'))).toEqual(content.expected);
  });

  it('--bundle: offline, from the bundle', async () => {
    const key = await makeSigningKey();
    const b = await buildValidBundle(join(tmp, 'bundle'), key);
    const r = await runBale(['snapshot', '--bundle', b.dir]);
    expect(r.code).toBe(0);
    const doc = parseSnapshot(r.stdout, 'stdout');
    expect(doc.map((e) => e.name)).toEqual([FIXTURE_REPO]);
    expect(Object.keys(doc[0]?.dmap ?? {})).toContain(b.releaseDigest);
  });

  it('catalog not allowed: exit 1, the error names --repository (also as JSON); --repository works', async () => {
    const r = await runBale(['snapshot', `${tokenReg.host}/${PREFIX}`, ...flags(tokenReg)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bale: error: cannot list the repositories of .* \[E_CATALOG_UNAVAILABLE\]/);
    expect(r.stderr).toMatch(/--repository NAME/);
    const j = await runBale(['snapshot', `${tokenReg.host}/${PREFIX}`, ...flags(tokenReg), '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'E_CATALOG_UNAVAILABLE' } });
    const named = await runBale([
      'snapshot',
      `${tokenReg.host}/${PREFIX}`,
      ...flags(tokenReg),
      '--repository',
      'tools',
      '--repository',
      'multi',
    ]);
    expect(named.code).toBe(0);
    expect(parseSnapshot(named.stdout, 'stdout').map((e) => e.name)).toEqual(['multi', 'tools']);
  });

  it('an unreachable registry: exit 1 naming it, nothing on stdout', async () => {
    const gone = await startRegistry({ auth: 'none' });
    await gone.stop();
    const r = await runBale(['snapshot', `${gone.host}/x`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`bale: error: probe ${gone.host}`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  }, 60_000);

  it('usage errors exit 2: no source, both sources, a missing bundle directory, a bad target', async () => {
    for (const args of [
      ['snapshot'],
      ['snapshot', reg.host, '--bundle', tmp],
      ['snapshot', '--bundle', join(tmp, 'nonexistent')],
      ['snapshot', 'Not A Host/x'],
    ]) {
      const r = await runBale(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/\[E_USAGE\]/);
    }
  });
});
