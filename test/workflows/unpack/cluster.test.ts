/**
 * bale unpack's mirror configuration and cluster apply, end to end with the compiled CLI.
 *
 * No real Kubernetes API server can be installed on these machines, so the cluster is
 * test/helpers/fake-kube.ts: a loopback HTTPS server implementing the ConfigMap and
 * ImageDigestMirrorSet / ImageContentSourcePolicy endpoints (create, get, update, 404,
 * 409, 403, server-side dry run) that @kubernetes/client-node talks to exactly as it
 * would to a cluster. The destination registry is a real docker-registry.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runBale, type BaleRun } from '../../helpers/bale.js';
import { startFakeKube, type FakeKube } from '../../helpers/fake-kube.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { oneJson, packFixture, storedFiles, type PackedBundle } from './unpack-helpers.js';

interface ApplyJson {
  ok: boolean;
  applied: {
    kind: string;
    name: string;
    namespace?: string;
    action: string;
    message?: string;
    status?: number;
  }[];
  conflicts: number;
  applyErrors: number;
  nextSteps: string[];
  manifestFiles: string[];
  push?: { blobsUploaded: number; images: { manifestPresent: boolean; blobsToPush: number }[] };
}

const LABEL = 'release.openshift.io/verification-signatures';
const NS = 'openshift-config-managed';

describe('bale unpack: mirror configuration and cluster apply (fake Kubernetes API)', () => {
  let b: PackedBundle;
  let dest: TestRegistry;
  let kube: FakeKube;
  let work: string;
  let kubeconfig: string;
  let cmName: string;
  let n = 0;

  beforeAll(async () => {
    b = await packFixture(31);
    dest = await startRegistry();
    work = await makeTempDir('bale-cluster-');
    cmName = `sha256-${b.index.releases[0]?.digest.slice(7)}`;
  });
  beforeEach(async () => {
    // A fresh, empty cluster for each test.
    await kube?.stop();
    kube = await startFakeKube();
    kubeconfig = await kube.writeKubeconfig(join(work, `kubeconfig-${++n}`));
  });
  afterAll(async () => {
    await kube?.stop();
    await dest?.stop();
    await b?.setup.stop();
    if (work) await removeTempDir(work);
  });

  const unpack = (
    extra: string[],
    opts: { to?: string | false; manifests?: string } = {},
  ): Promise<BaleRun> =>
    runBale([
      'unpack',
      b.bundleDir,
      ...(opts.to === false ? [] : ['--to', opts.to ?? `${dest.host}/mirror`, '--dest-tls-verify=false']),
      '--keyring',
      b.keyring,
      '--manifests-to-dir',
      opts.manifests ?? join(work, 'manifests'),
      '--kubeconfig',
      kubeconfig,
      '--json',
      ...extra,
    ]);

  it('writes an ImageDigestMirrorSet for the release, component and graph-data sources; --icsp adds an ICSP', async () => {
    const out = join(work, 'mirror-config');
    const r = await unpack(['--icsp'], { manifests: out });
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<ApplyJson>(r);
    const idms = YAML.parse(await readFile(join(out, 'imagedigestmirrorset.yaml'), 'utf8'));
    expect(idms.apiVersion).toBe('config.openshift.io/v1');
    expect(idms.kind).toBe('ImageDigestMirrorSet');
    const src = b.setup.reg.host;
    const mirrorOf = (s: string): string[] | undefined =>
      (idms.spec.imageDigestMirrors as { source: string; mirrors: string[] }[]).find((e) => e.source === s)
        ?.mirrors;
    // The release and its components come from different repositories; both map to the mirror's release repository.
    expect(b.index.releases[0]?.source).toBe(`${src}/ocp/release`);
    expect(b.index.images.some((i) => i.source === `${src}/ocp/release-art`)).toBe(true);
    expect(mirrorOf(`${src}/ocp/release`)).toEqual([`${dest.host}/mirror/openshift/release`]);
    expect(mirrorOf(`${src}/ocp/release-art`)).toEqual([`${dest.host}/mirror/openshift/release`]);
    expect(mirrorOf(`${src}/ocp/graph-data`)).toEqual([`${dest.host}/mirror/openshift/graph-data`]);
    expect(idms.spec.imageDigestMirrors).toHaveLength(3);

    const icsp = YAML.parse(await readFile(join(out, 'imagecontentsourcepolicy.yaml'), 'utf8'));
    expect(icsp.apiVersion).toBe('operator.openshift.io/v1alpha1');
    expect(icsp.kind).toBe('ImageContentSourcePolicy');
    expect(icsp.spec.repositoryDigestMirrors).toEqual(idms.spec.imageDigestMirrors);
    const hex = b.index.releases[0]?.digest.slice(7) ?? '';
    expect((await readdir(out)).sort()).toEqual(
      [
        'imagecontentsourcepolicy.yaml',
        'imagedigestmirrorset.yaml',
        `signature-sha256-${hex.slice(0, 16)}.yaml`,
        'updateservice.yaml',
      ].sort(),
    );
    expect(res.nextSteps).toContain(
      `oc adm upgrade --allow-explicit-upgrade --to-image=${dest.host}/mirror/openshift/release@${b.index.releases[0]?.digest}`,
    );
    // Nothing applied without --apply-*.
    expect(res.applied).toEqual([]);
    expect(kube.writes()).toEqual([]);

    // The human form prints the same next step.
    const human = await runBale([
      'unpack',
      b.bundleDir,
      '--to',
      `${dest.host}/mirror`,
      '--dest-tls-verify=false',
      '--keyring',
      b.keyring,
      '--manifests-to-dir',
      out,
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(
        `^  oc adm upgrade --allow-explicit-upgrade --to-image=${dest.host}/mirror/openshift/release@${b.index.releases[0]?.digest}$`,
        'm',
      ),
    );
  });

  it('--apply-release-image-signature creates the labelled ConfigMap; a re-run leaves it unchanged', async () => {
    const r = await unpack(['--apply-release-image-signature'], { to: false });
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<ApplyJson>(r);
    expect(res.applied).toEqual([
      expect.objectContaining({ kind: 'ConfigMap', name: cmName, namespace: NS, action: 'created' }),
    ]);
    const cm = kube.get('configmaps', cmName, NS);
    expect(cm).toBeDefined();
    expect((cm?.metadata.labels as Record<string, string>)[LABEL]).toBe('');
    const keys = Object.keys((cm?.binaryData ?? {}) as Record<string, string>);
    expect(keys.length).toBe(
      b.index.signatures.filter((s) => s.digest === b.index.releases[0]?.digest).length,
    );
    expect(keys[0]).toBe(`${cmName}-1`);
    // Only the signature ConfigMap: no mirror configuration without --apply-manifests.
    expect(kube.count()).toBe(1);

    const writes = kube.writes().length;
    const again = await unpack(['--apply-release-image-signature'], { to: false });
    expect(again.code, again.stderr).toBe(0);
    expect(oneJson<ApplyJson>(again).applied.map((a) => a.action)).toEqual(['unchanged']);
    expect(kube.writes().length).toBe(writes);
  });

  it('a differing ConfigMap: warning and exit 1 without --overwrite; updated with it', async () => {
    kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: cmName, namespace: NS, labels: { [LABEL]: '' } },
      binaryData: { [`${cmName}-1`]: Buffer.from('not a signature').toString('base64') },
    });
    const r = await unpack(['--apply-release-image-signature'], { to: false });
    expect(r.code).toBe(1);
    const res = oneJson<ApplyJson>(r);
    expect(res.ok).toBe(false);
    expect(res.conflicts).toBe(1);
    expect(res.applied[0]?.action).toBe('conflict');
    expect(r.stderr).toMatch(/differs|different/);
    expect(r.stderr).toContain('--overwrite');
    expect((kube.get('configmaps', cmName, NS)?.binaryData as Record<string, string>)[`${cmName}-1`]).toBe(
      Buffer.from('not a signature').toString('base64'),
    );

    const o = await unpack(['--apply-release-image-signature', '--overwrite'], { to: false });
    expect(o.code, o.stderr).toBe(0);
    expect(oneJson<ApplyJson>(o).applied[0]?.action).toBe('updated');
    const data = kube.get('configmaps', cmName, NS)?.binaryData as Record<string, string>;
    expect(data[`${cmName}-1`]).not.toBe(Buffer.from('not a signature').toString('base64'));
    // Now it matches.
    const again = await unpack(['--apply-release-image-signature'], { to: false });
    expect(again.code).toBe(0);
    expect(oneJson<ApplyJson>(again).applied[0]?.action).toBe('unchanged');
  });

  it('--apply-manifests also applies the ImageDigestMirrorSet, the UpdateService (graph-data carried) and the ICSP with --icsp', async () => {
    const r = await unpack(['--apply-manifests', '--icsp']);
    expect(r.code, r.stderr).toBe(0);
    const res = oneJson<ApplyJson>(r);
    expect(res.applied.map((a) => `${a.kind}:${a.action}`).sort()).toEqual(
      [
        'ConfigMap:created',
        'ImageContentSourcePolicy:created',
        'ImageDigestMirrorSet:created',
        'UpdateService:created',
      ].sort(),
    );
    const idms = kube.get('imagedigestmirrorsets', 'bale-mirror');
    expect((idms?.spec as { imageDigestMirrors: unknown[] }).imageDigestMirrors).toHaveLength(3);
    expect(kube.get('imagecontentsourcepolicies', 'bale-mirror')).toBeDefined();
    expect(kube.get('configmaps', cmName, NS)).toBeDefined();
    // Applied, so the next step is no longer "oc apply".
    expect(res.nextSteps.some((s) => s.startsWith('oc apply'))).toBe(false);
  });

  it('a 403 on one object is reported, the rest is still applied, exit non-zero', async () => {
    kube.inject({ resource: 'configmaps', name: cmName, status: 403 });
    const r = await unpack(['--apply-manifests']);
    expect(r.code).toBe(1);
    const res = oneJson<ApplyJson>(r);
    expect(res.applyErrors).toBe(1);
    const cm = res.applied.find((a) => a.kind === 'ConfigMap');
    expect(cm?.action).toBe('error');
    expect(cm?.status).toBe(403);
    expect(cm?.message).toMatch(/not permitted|forbidden/i);
    expect(r.stderr).toContain(cmName);
    expect(res.applied.find((a) => a.kind === 'ImageDigestMirrorSet')?.action).toBe('created');
    expect(kube.get('imagedigestmirrorsets', 'bale-mirror')).toBeDefined();
    expect(kube.get('configmaps', cmName, NS)).toBeUndefined();
    expect(r.stdout + r.stderr).not.toContain(kube.token);
  });

  it('409 races: created meanwhile (identical) is left alone; changed under an --overwrite is re-read', async () => {
    // Another client creates the same object between our GET and POST.
    const first = await unpack(['--apply-release-image-signature'], { to: false });
    expect(first.code).toBe(0);
    const ours = structuredClone(kube.get('configmaps', cmName, NS)) as Record<string, unknown> & {
      metadata: Record<string, unknown>;
    };
    await kube.stop();
    kube = await startFakeKube();
    kubeconfig = await kube.writeKubeconfig(join(work, `kubeconfig-${++n}`));
    const clean = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: cmName, namespace: NS, labels: { [LABEL]: '' } },
      binaryData: ours.binaryData,
    };
    kube.inject({ method: 'POST', resource: 'configmaps', times: 1, before: () => void kube.put(clean) });
    const r = await unpack(['--apply-release-image-signature'], { to: false });
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson<ApplyJson>(r).applied[0]?.action).toBe('unchanged');
    expect(kube.log.some((l) => l.method === 'POST' && l.status === 409)).toBe(true);

    // --overwrite of a differing object that changes again between our GET and PUT: 409 Conflict, re-read, updated.
    kube.put({ ...clean, binaryData: { x: 'eA==' } });
    kube.inject({
      method: 'PUT',
      resource: 'configmaps',
      times: 1,
      before: () => void kube.put({ ...clean, binaryData: { y: 'eQ==' } }),
    });
    const o = await unpack(['--apply-release-image-signature', '--overwrite'], { to: false });
    expect(o.code, o.stderr).toBe(0);
    expect(oneJson<ApplyJson>(o).applied[0]?.action).toBe('updated');
    expect(kube.log.some((l) => l.method === 'PUT' && l.status === 409)).toBe(true);
    expect(kube.get('configmaps', cmName, NS)?.binaryData).toEqual(ours.binaryData);
  });

  it('--dry-run: server-side dry run, nothing pushed, nothing written, nothing stored', async () => {
    const empty = await startRegistry();
    const proxy = await startFaultProxy(empty.host, {});
    try {
      const manifests = join(work, 'dry-manifests');
      const toDir = join(work, 'dry-dir');
      const r = await unpack(['--apply-manifests', '--icsp', '--dry-run', '--to-dir', toDir], {
        to: `${proxy.host}/mirror`,
        manifests,
      });
      expect(r.code, r.stderr).toBe(0);
      const res = oneJson<ApplyJson>(r);
      expect(res.applied.map((a) => a.action)).toEqual([
        'would-create',
        'would-create',
        'would-create',
        'would-create',
      ]);
      expect(kube.count()).toBe(0);
      const writes = kube.writes();
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.every((w) => w.query.dryRun === 'All')).toBe(true);
      // Per image: not there, so everything is still to push.
      expect(res.push?.blobsUploaded).toBe(0);
      expect(res.push?.images.length).toBe(b.index.images.filter((i) => i.tags.length > 0).length);
      expect(res.push?.images.every((i) => !i.manifestPresent && i.blobsToPush > 0)).toBe(true);
      // The registry saw only reads and holds nothing.
      await proxy.settled();
      expect(proxy.log.length).toBeGreaterThan(0);
      expect(proxy.log.filter((l) => l.method !== 'HEAD' && l.method !== 'GET')).toEqual([]);
      expect(await storedFiles(empty)).toEqual([]);
      // No files anywhere.
      await expect(access(manifests)).rejects.toThrow();
      await expect(access(toDir)).rejects.toThrow();

      // The human form says what would be pushed, per image.
      const human = await runBale(
        [
          'unpack',
          b.bundleDir,
          '--to',
          `${proxy.host}/mirror`,
          '--dest-tls-verify=false',
          '--keyring',
          b.keyring,
          '--dry-run',
        ],
        { cwd: work },
      );
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain('Dry run');
      expect(human.stdout).toMatch(
        new RegExp(`${b.index.releases[0]?.digest} \\(${b.index.releases[0]?.tag}\\): to push: \\d+ blob`),
      );
      expect(await storedFiles(empty)).toEqual([]);
      await expect(access(join(work, 'bale-manifests'))).rejects.toThrow();
    } finally {
      await proxy.stop();
      await empty.stop();
    }
  });
});
