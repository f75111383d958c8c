/**
 * unpack --to reads the media once: blobs go to the mirror while the volumes are
 * verified; manifests, then tags, only once the whole bundle verified. Real registries (the Debian docker-registry) behind the fault proxy, whose
 * request log tells what reached them; the compiled CLI as a process (kill -9).
 *
 *  - a damaged late volume (re-sealed, so only reading its entries finds it) after some
 *    blobs were sent: exit 1, no manifest, no tag (tags API, manifest HEAD per image), the
 *    error says the blobs sent are unreferenced; --verify-first on that copy sends nothing;
 *  - kill -9 during the single pass, re-run: the mirror equals a --verify-first unpack;
 *  - kill -9 in the middle of a large blob's upload, re-run: the recorded session is
 *    continued (GET for its Range, PATCH from there), fewer bytes than the blob are sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarItems, reseal, writeTarVolume } from '../../../fixtures/hostile/damage.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { runBale, spawnBale } from '../../helpers/bale.js';
import { startFaultProxy, type FaultProxy, type RequestLog } from '../../helpers/fault-proxy.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { mirrorFingerprint } from '../../reliability/rig.js';
import { expectMirrorComplete, oneJson } from './unpack-helpers.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

const MiB = 1024 * 1024;
const LARGE = 24 * MiB;
const CHUNK = 8 * MiB;

const isUploadPatch = (l: RequestLog): boolean => l.method === 'PATCH' && /\/blobs\/uploads\//.test(l.path);
const isCommit = (l: RequestLog): boolean =>
  l.method === 'PUT' && /\/blobs\/uploads\//.test(l.path) && l.status === 201;
const isManifestPut = (l: RequestLog): boolean => l.method === 'PUT' && /\/manifests\//.test(l.path);
const isWrite = (l: RequestLog): boolean => l.method !== 'GET' && l.method !== 'HEAD';

interface UnpackJson {
  ok: boolean;
  push: {
    blobsUploaded: number;
    bytesUploaded: number;
    resumed?: { sessions: number; bytes: number };
  };
}

describe('unpack --to: one read of the media', () => {
  let setup: FixtureSetup;
  let bundle: string;
  let smallVolumes: string;
  let index: BundleIndex;
  let keyring: string;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    setup = await setupFixture({ seed: 131, largeBlobBytes: LARGE });
    keyring = setup.fx.keyringPath;
    bundle = join(setup.work, 'bundle');
    const p = await runBale([...setup.packArgs(), '--to', bundle, '--quiet'], { timeoutMs: 600_000 });
    expect(p.code, p.stderr).toBe(0);
    index = await readBundleJson(bundle);
    smallVolumes = join(setup.work, 'bundle-small-volumes');
    const q = await runBale([...setup.packArgs(), '--to', smallVolumes, '--volume-size', '1MiB', '--quiet'], {
      timeoutMs: 600_000,
    });
    expect(q.code, q.stderr).toBe(0);
  }, 900_000);
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await setup?.stop();
  });

  async function destination(): Promise<{ reg: TestRegistry; proxy: FaultProxy }> {
    const reg = await startRegistry();
    stops.push(() => reg.stop());
    const proxy = await startFaultProxy(reg.host);
    stops.push(() => proxy.stop());
    return { reg, proxy };
  }

  let runs = 0;
  const unpackArgs = (dir: string, to: string, extra: string[] = []): string[] => [
    'unpack',
    dir,
    '--to',
    to,
    '--dest-tls-verify=false',
    '--keyring',
    keyring,
    '--manifests-to-dir',
    join(setup.work, `manifests-${++runs}`), // one directory per run, no Math.random
    '--json',
    ...extra,
  ];

  it('a damaged late volume found after blobs were sent: exit 1, no manifest, no tag; --verify-first sends nothing', async () => {
    const small = await readBundleJson(smallVolumes);
    expect(small.volumes.length).toBeGreaterThan(4);
    // The last volume holding a whole blob (not a manifest): flip a byte of its body, re-seal.
    const manifests = new Set(small.entries.filter((e) => e.type === 'hardlink').map((e) => e.linkTarget));
    const victim = [...small.entries]
      .reverse()
      .find(
        (e) =>
          e.type === 'file' && e.volume !== undefined && e.path.includes('/blobs/') && !manifests.has(e.path),
      );
    if (victim?.volume === undefined) throw new Error('no whole blob entry in the bundle');
    const late = small.volumes.findIndex((v) => v.name === victim.volume);
    expect(late).toBeGreaterThan(1);
    const copy = join(setup.work, 'damaged-late');
    await cp(smallVolumes, copy, { recursive: true });
    const path = join(copy, victim.volume);
    const items = await readTarItems(path);
    const item = items.find((i) => i.header.name === victim.path);
    if (item?.body === undefined) throw new Error(`${victim.path} not in ${victim.volume}`);
    const body = Buffer.from(item.body);
    const at = Math.floor(body.length / 2);
    body[at] = (body[at] ?? 0) ^ 0xff;
    item.body = body;
    await writeTarVolume(path, items);
    await reseal(copy, await readBundleJson(copy));

    const { reg, proxy } = await destination();
    const r = await runBale(unpackArgs(copy, `${proxy.host}/mirror`));
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(doc.error.code).toBe('E_VERIFY_FAILED');
    expect(doc.error.message).toContain(victim.path);
    await proxy.settled();
    // Blobs went to the registry before the damage was found ...
    const sent = proxy.log.filter(isCommit);
    console.log(
      `[single-pass] damaged ${victim.volume} (${late + 1} of ${small.volumes.length}): ${sent.length} blob(s) sent before the damage was found, ` +
        `${proxy.log.filter((l) => l.method === 'DELETE').length} session(s) cancelled`,
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(doc.error.hint).toMatch(/No manifest and no tag was pushed/);
    expect(doc.error.hint).toContain(`${sent.length} blob(s) already sent are unreferenced`);
    // ... but no manifest and no tag: no image of the bundle is visible.
    expect(proxy.log.filter(isManifestPut)).toEqual([]);
    for (const img of small.images) {
      const repo = `mirror/${img.repository}`;
      const head = await fetch(`http://${reg.host}/v2/${repo}/manifests/${img.digest}`, { method: 'HEAD' });
      expect(head.status, `${repo}@${img.digest}`).toBe(404);
      const tags = await fetch(`http://${reg.host}/v2/${repo}/tags/list`);
      const listed =
        tags.status === 200 ? (((await tags.json()) as { tags?: string[] | null }).tags ?? []) : [];
      expect(listed, `${repo} tags`).toEqual([]);
    }
    // The blobs sent are in storage, unreferenced: no manifest revision, no tag link.
    expect((await storedOutsideUploads(reg)).filter((f) => /\/_manifests\//.test(f))).toEqual([]);

    // --verify-first: not one request that changes the registry.
    const mark = proxy.log.length;
    const v = await runBale(unpackArgs(copy, `${proxy.host}/mirror`, ['--verify-first']));
    expect(v.code, v.stderr).toBe(1);
    expect(v.stdout).toContain('E_VERIFY_FAILED');
    await proxy.settled();
    expect(proxy.log.slice(mark).filter(isWrite)).toEqual([]);
  }, 600_000);

  it('kill -9 during the single pass, re-run: the mirror equals a --verify-first unpack', async () => {
    const ref = await destination();
    const refRun = await runBale(unpackArgs(bundle, `${ref.proxy.host}/mirror`, ['--verify-first']));
    expect(refRun.code, refRun.stderr).toBe(0);

    const { reg, proxy } = await destination();
    proxy.setPlan({
      rules: [
        {
          method: 'PATCH',
          path: /\/blobs\/uploads\//,
          fault: { kind: 'throttle', bytesPerSecond: 4 * MiB, on: 'request' },
        },
      ],
    });
    const child = spawnBale(unpackArgs(bundle, `${proxy.host}/mirror`));
    const exited = new Promise<{ signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (_code, signal) => resolve({ signal })),
    );
    const deadline = Date.now() + 120_000;
    const acked = (): number => proxy.log.filter((l) => isUploadPatch(l) && l.status === 202).length;
    while (acked() < 3 && Date.now() < deadline && child.exitCode === null) await sleep(25);
    expect(acked()).toBeGreaterThanOrEqual(3);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    expect(proxy.log.some(isManifestPut)).toBe(false);

    proxy.setPlan({});
    const r = await runBale(unpackArgs(bundle, `${proxy.host}/mirror`), { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    await expectMirrorComplete(reg, 'mirror', index);
    const [fp, refFp] = [await mirrorFingerprint(reg), await mirrorFingerprint(ref.reg)];
    expect(fp.badBlobs).toEqual([]);
    expect(fp.links).toEqual(refFp.links);
  }, 600_000);

  it('kill -9 in the middle of a large upload: the re-run continues the recorded session from its offset', async () => {
    const large = setup.fx.largeBlob;
    if (large === undefined) throw new Error('the fixture has no large blob');
    const { reg, proxy } = await destination();
    const stateDir = await makeTempDir('bale-unpack-state-');
    stops.push(() => removeTempDir(stateDir));
    const first = await runBale(unpackArgs(bundle, `${proxy.host}/mirror`, ['--state-dir', stateDir]));
    expect(first.code, first.stderr).toBe(0);
    // Take the large blob out of its repository (the registry's delete API): it is the only blob to push.
    const entry = index.entries.find((e) => e.path.endsWith(`/blobs/${large.digest}`));
    if (entry === undefined) throw new Error('the large blob is not in the bundle');
    const repo = `mirror/${entry.path.slice('v2/'.length, entry.path.indexOf('/blobs/'))}`;
    const del = await fetch(`http://${reg.host}/v2/${repo}/blobs/${large.digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);

    // Its first chunk goes through; every later PATCH is cut before a byte reaches the registry.
    proxy.setPlan({
      rules: [
        {
          method: 'PATCH',
          path: /\/blobs\/uploads\//,
          skip: 1,
          fault: { kind: 'reset', afterBytes: 0, on: 'request' },
        },
      ],
    });
    const mark = proxy.log.length;
    const child = spawnBale(unpackArgs(bundle, `${proxy.host}/mirror`, ['--state-dir', stateDir]));
    const exited = new Promise<{ signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (_code, signal) => resolve({ signal })),
    );
    const cut = (): number =>
      proxy.log.slice(mark).filter((l) => isUploadPatch(l) && l.fault !== undefined).length;
    const deadline = Date.now() + 120_000;
    while (cut() < 2 && Date.now() < deadline && child.exitCode === null) await sleep(25);
    expect(cut()).toBeGreaterThanOrEqual(2);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    expect(await readdir(join(stateDir, 'uploads'))).toHaveLength(1);
    await proxy.settled();

    proxy.setPlan({});
    const again = proxy.log.length;
    const r = await runBale(unpackArgs(bundle, `${proxy.host}/mirror`, ['--state-dir', stateDir]));
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<UnpackJson>(r);
    await proxy.settled();
    const rerun = proxy.log.slice(again);
    const sent = rerun.filter(isUploadPatch).reduce((n, l) => n + l.requestBytes, 0);
    console.log(
      `[single-pass] resumed upload: ${res.push.resumed?.bytes ?? 0} bytes kept from the killed run, ${sent} of ${large.size} sent again`,
    );
    // The session was continued: asked for its Range, no new session, only the rest sent.
    expect(res.push.resumed).toEqual({ sessions: 1, bytes: CHUNK });
    expect(
      rerun.some((l) => l.method === 'GET' && /\/blobs\/uploads\//.test(l.path) && l.status === 204),
    ).toBe(true);
    expect(rerun.some((l) => l.method === 'POST' && /\/blobs\/uploads\//.test(l.path))).toBe(false);
    expect(sent).toBe(large.size - CHUNK);
    expect(sent).toBeLessThan(large.size);
    expect(rerun.filter(isCommit)).toHaveLength(1);
    expect(await readdir(join(stateDir, 'uploads'))).toEqual([]);
    await expectMirrorComplete(reg, 'mirror', index);
  }, 600_000);
});

/** Files in the registry's storage that are not part of an upload session. */
async function storedOutsideUploads(reg: TestRegistry): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '_uploads') await walk(join(dir, e.name), r);
      } else found.push(r);
    }
  };
  await walk(reg.storageDir, '');
  return found;
}
