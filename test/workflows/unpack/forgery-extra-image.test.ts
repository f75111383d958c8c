/**
 * Issue 12, extra `--image` content: an image no release signature reaches is trusted
 * only through a verified bundle signature. In a bundle whose bundle.json is not signed,
 * verify exits 1 naming the image and unpack pushes nothing; --allow-unsigned accepts it
 * visibly; a bundle signed with `pack --sign-key` verifies with --index-keyring, the
 * image anchored by the bundle signature.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { setupFixture } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { registryFlags, skopeoOk } from '../../helpers/skopeo.js';
import { makeTinyImage, writeOciLayout } from '../../helpers/tiny-image.js';
import { oneJson, storedFiles } from './unpack-helpers.js';

type Setup = Awaited<ReturnType<typeof setupFixture>>;

interface VerifyJson {
  ok: boolean;
  problems: { code: string; message: string; entry?: string }[];
  trust?: { index: { state: string }; unanchored: number; allowUnsigned: boolean };
}

describe('extra --image content: anchored only by a verified bundle signature', () => {
  let setup: Setup;
  let dest: TestRegistry;
  let extra: string;
  let unsigned: string;
  let signed: string;

  beforeAll(async () => {
    setup = await setupFixture({ seed: 78 });
    dest = await startRegistry();
    const oci = await writeOciLayout(makeTinyImage(78), join(setup.work, 'extra-oci'));
    extra = `${setup.reg.host}/extra/tool:1.0`;
    await skopeoOk(['copy', ...registryFlags(setup.reg, 'dest'), oci, `docker://${extra}`]);
    unsigned = join(setup.work, 'unsigned');
    signed = join(setup.work, 'signed');
    const p1 = await runBale([...setup.packArgs(), '--image', extra, '--to', unsigned, '--quiet']);
    expect(p1.code, p1.stderr).toBe(0);
    const p2 = await runBale([
      ...setup.packArgs(),
      '--image',
      extra,
      '--to',
      signed,
      '--quiet',
      '--sign-key',
      setup.fx.privateKeyPath,
    ]);
    expect(p2.code, p2.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await dest?.stop();
    await setup?.stop();
  });

  it('unsigned bundle.json: verify exits 1 naming the extra image; unpack pushes nothing', async () => {
    const keyring = setup.fx.keyringPath;
    const v = await runBale(['verify', unsigned, '--keyring', keyring, '--json']);
    expect(v.code).toBe(1);
    const report = oneJson<VerifyJson>(v);
    expect(report.trust?.index.state).not.toBe('signed');
    expect(report.trust?.unanchored).toBeGreaterThan(0);
    const named = report.problems.filter((p) => `${p.message} ${p.entry ?? ''}`.includes('extra/tool'));
    expect(named.length, JSON.stringify(report.problems, null, 1)).toBeGreaterThan(0);
    // Only the extra image is unanchored: the release content is still anchored.
    for (const p of report.problems) expect(`${p.message} ${p.entry ?? ''}`).toContain('extra/tool');

    const u = await runBale([
      'unpack',
      unsigned,
      '--to',
      `${dest.host}/extra-unsigned`,
      '--dest-tls-verify=false',
      '--manifests-to-dir',
      join(setup.work, 'manifests-unsigned'),
      '--keyring',
      keyring,
      // Nothing sent before the audit ends (the default sends blobs while verifying).
      '--verify-first',
    ]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('E_VERIFY_FAILED');
    expect(await storedFiles(dest)).toEqual([]);
  });

  it('--allow-unsigned accepts it and says so', async () => {
    const v = await runBale([
      'verify',
      unsigned,
      '--keyring',
      setup.fx.keyringPath,
      '--allow-unsigned',
      '--json',
    ]);
    expect(v.code, v.stdout).toBe(0);
    const report = oneJson<VerifyJson>(v);
    expect(report.trust?.allowUnsigned).toBe(true);
    expect(report.trust?.unanchored).toBeGreaterThan(0);
  });

  it('signed bundle.json: verifies with --index-keyring, the extra image anchored by the bundle signature', async () => {
    const keyring = setup.fx.keyringPath;
    const v = await runBale(['verify', signed, '--keyring', keyring, '--index-keyring', keyring]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toContain('bundle.json is signed');
    expect(v.stdout).toMatch(/image extra\/tool@sha256:[0-9a-f]{64}: bundle signature/);
    // Without the index keyring the signature is not checked: the extra image is unanchored.
    const plain = await runBale(['verify', signed, '--keyring', keyring]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain('extra/tool');
  });
});
