/**
 * bale unpack --to, end to end with the compiled CLI: the fixture release is packed once,
 * then unpacked into real destination registries (plain, htpasswd + TLS, Bearer token).
 * skopeo, an independent client, then copies every image of bundle.json out of the
 * mirror by digest and checks that each tag resolves to the same digest. Re-runs must
 * upload nothing (checked through a fault proxy's request log), and a run killed with
 * SIGKILL part-way must be finished by the next one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale, spawnBale } from '../../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { faults, startFaultProxy, type FaultProxy, type RequestLog } from '../../helpers/fault-proxy.js';
import { startRegistry } from '../../helpers/registry.js';
import {
  expectMirrorComplete,
  mirrorHas,
  oneJson,
  packFixture,
  sha256,
  type PackedBundle,
} from './unpack-helpers.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

interface PushSummary {
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  manifestsPushed: number;
  manifestsPresent: number;
  tagsPushed: number;
  tagsPresent: number;
}
interface UnpackJson {
  ok: boolean;
  release: { version: string; digest: string; mirror: string };
  push: PushSummary;
  nextSteps: string[];
}

const isUpload = (l: RequestLog): boolean =>
  /\/blobs\/uploads\//.test(l.path) && (l.method === 'POST' || l.method === 'PATCH' || l.method === 'PUT');
const isManifestPut = (l: RequestLog): boolean => l.method === 'PUT' && /\/manifests\//.test(l.path);

describe('bale unpack --to (round trips into real registries)', () => {
  let b: PackedBundle;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    b = await packFixture(11);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await b?.setup.stop();
  });

  const unpackArgs = (to: string, extra: string[] = []): string[] => [
    'unpack',
    b.bundleDir,
    '--to',
    to,
    '--keyring',
    b.keyring,
    '--manifests-to-dir',
    join(b.setup.work, `manifests-${to.replace(/[^a-z0-9]/gi, '_')}`),
    '--json',
    ...extra,
  ];

  it('plain registry: every image arrives by digest; a re-run uploads nothing (proxy log)', async () => {
    const dest = await startRegistry();
    stops.push(() => dest.stop());
    const r = await runBale(unpackArgs(`${dest.host}/mirror`, ['--dest-tls-verify=false']));
    expect(r.code, r.stderr).toBe(0);
    const first = oneJson<UnpackJson>(r);
    expect(first.ok).toBe(true);
    expect(first.push.blobsUploaded).toBeGreaterThan(0);
    expect(first.push.manifestsPushed).toBeGreaterThan(0);
    expect(first.release.digest).toBe(b.index.releases[0]?.digest);
    expect(first.release.mirror).toBe(`${dest.host}/mirror/openshift/release@${b.index.releases[0]?.digest}`);
    await expectMirrorComplete(dest, 'mirror', b.index);

    // Re-run through a proxy that logs every request.
    const proxy: FaultProxy = await startFaultProxy(dest.host, {});
    stops.push(() => proxy.stop());
    const again = await runBale(unpackArgs(`${proxy.host}/mirror`, ['--dest-tls-verify=false']));
    expect(again.code, again.stderr).toBe(0);
    const second = oneJson<UnpackJson>(again);
    expect(second.push.blobsUploaded).toBe(0);
    expect(second.push.blobsMounted).toBe(0);
    expect(second.push.manifestsPushed).toBe(0);
    expect(second.push.tagsPushed).toBe(0);
    expect(second.push.blobsPresent).toBe(
      first.push.blobsUploaded + first.push.blobsMounted + first.push.blobsPresent,
    );
    await proxy.settled();
    expect(proxy.log.length).toBeGreaterThan(0);
    expect(proxy.log.filter(isUpload)).toEqual([]);
    expect(proxy.log.filter(isManifestPut)).toEqual([]);
    expect(proxy.log.every((l) => l.method === 'HEAD' || l.method === 'GET')).toBe(true);
  });

  it('htpasswd with TLS (--ca-file, --registry-config)', async () => {
    const dest = await startRegistry({ auth: 'htpasswd', tls: true });
    stops.push(() => dest.stop());
    const r = await runBale(
      unpackArgs(`${dest.host}/ocp4/mirror`, [
        '--ca-file',
        dest.caFile ?? '',
        '--registry-config',
        dest.authFile,
      ]),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson<UnpackJson>(r).push.blobsUploaded).toBeGreaterThan(0);
    await expectMirrorComplete(dest, 'ocp4/mirror', b.index);
    expect(r.stdout + r.stderr).not.toContain(dest.password ?? '\0');

    // Without the CA the certificate is refused: TLS is verified by default.
    const noCa = await runBale(unpackArgs(`${dest.host}/other`, ['--registry-config', dest.authFile]));
    expect(noCa.code).toBe(1);
    expect(oneJson<{ ok: boolean; error: { code: string } }>(noCa).ok).toBe(false);
  });

  it('Bearer token auth', async () => {
    const dest = await startRegistry({ auth: 'token' });
    stops.push(() => dest.stop());
    const r = await runBale(
      unpackArgs(dest.host, ['--dest-tls-verify=false', '--registry-config', dest.authFile]),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson<UnpackJson>(r).push.blobsUploaded).toBeGreaterThan(0);
    await expectMirrorComplete(dest, '', b.index);
    // The token server was really asked (Bearer, not anonymous access).
    expect(dest.tokenIssuer?.requests.length ?? 0).toBeGreaterThan(0);
  });

  it('SIGKILL mid-unpack: the re-run pushes the rest and the mirror is complete', async () => {
    const dest = await startRegistry();
    stops.push(() => dest.stop());
    // Throttle every upload body so the run takes several seconds.
    const proxy = await startFaultProxy(dest.host, {
      rules: [
        {
          method: 'PUT|PATCH',
          path: /\/blobs\/uploads\//,
          fault: { kind: 'throttle', bytesPerSecond: 256 * 1024, on: 'request' },
        },
      ],
    });
    stops.push(() => proxy.stop());
    const child = spawnBale(unpackArgs(`${proxy.host}/mirror`, ['--dest-tls-verify=false']));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const committed = (): number =>
      proxy.log.filter((l) => l.method === 'PUT' && /\/blobs\/uploads\//.test(l.path) && l.status === 201)
        .length;
    const deadline = Date.now() + 60_000;
    while (committed() < 3 && Date.now() < deadline && child.exitCode === null) await sleep(50);
    expect(committed()).toBeGreaterThanOrEqual(3);
    child.kill('SIGKILL');
    const end = await exited;
    expect(end.signal).toBe('SIGKILL');
    // Killed before the release manifest went up.
    expect(proxy.log.some(isManifestPut)).toBe(false);
    expect(await mirrorHas(dest, 'mirror', 'openshift/release', b.index.releases[0]?.digest ?? '')).toBe(
      false,
    );

    proxy.setPlan({});
    const before = proxy.log.length;
    const r = await runBale(unpackArgs(`${proxy.host}/mirror`, ['--dest-tls-verify=false']));
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<UnpackJson>(r);
    expect(res.push.blobsPresent).toBeGreaterThanOrEqual(3);
    expect(res.push.blobsUploaded).toBeGreaterThan(0);
    // Blobs committed by the killed run were not uploaded again.
    const rerunPuts = proxy.log
      .slice(before)
      .filter((l) => l.method === 'PUT' && /\/blobs\/uploads\//.test(l.path) && l.status === 201);
    expect(rerunPuts.length).toBe(res.push.blobsUploaded);
    await expectMirrorComplete(dest, 'mirror', b.index);
  });
  it('many small volumes with entries split into parts; a cut upload is retried from the volume', async () => {
    // The same fixture packed again into 128 KiB volumes: the larger layers are split.
    const multi = join(b.setup.work, 'bundle-small-volumes');
    const p = await runBale([...b.setup.packArgs(), '--to', multi, '--volume-size', '128KiB', '--quiet']);
    expect(p.code, p.stderr).toBe(0);
    const index = await readBundleJson(multi);
    expect(index.volumes.length).toBeGreaterThan(4);
    expect(index.entries.some((e) => (e.parts?.length ?? 0) > 1)).toBe(true);

    const dest = await startRegistry();
    stops.push(() => dest.stop());
    // Cut the first two upload bodies part-way: each upload must be re-read from the volume.
    const proxy = await startFaultProxy(dest.host, {
      rules: [faults.resetUpload(64, { method: 'PUT', times: 2 })],
    });
    stops.push(() => proxy.stop());
    const dir = await makeTempDir('bale-multi-dir-');
    stops.push(() => removeTempDir(dir));
    const r = await runBale([
      'unpack',
      multi,
      '--to',
      `${proxy.host}/multi`,
      '--dest-tls-verify=false',
      '--to-dir',
      join(dir, 'out'),
      '--keyring',
      b.keyring,
      '--manifests-to-dir',
      join(dir, 'manifests'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<UnpackJson & { push: { retries: number } }>(r);
    const cut = proxy.log.filter((l) => l.fault !== undefined);
    expect(cut.length).toBe(2);
    expect(cut.every((l) => l.status !== 201)).toBe(true);
    expect(res.push.retries).toBeGreaterThan(0);
    await expectMirrorComplete(dest, 'multi', index);
    // --to-dir joined the split entries back together.
    for (const e of index.entries.filter((x) => x.parts)) {
      expect(sha256(await readFile(join(dir, 'out', ...e.path.split('/')))), e.path).toBe(
        `sha256:${e.sha256}`,
      );
    }
    // The same images as from the one-volume bundle.
    expect(index.images.map((i) => i.digest).sort()).toEqual(b.index.images.map((i) => i.digest).sort());
  });
});
