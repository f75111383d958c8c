/**
 * Kubeconfig resolution (src/cluster/kube-client.ts).
 *
 * No real Kubernetes API server can be installed on these machines, so the end-to-end
 * check here (a resolved kubeconfig actually authenticates) runs against the loopback
 * server that implements the ConfigMap and custom-resource endpoints
 * (test/helpers/fake-kube.ts). The resolution order itself needs only files.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects } from '../../src/cluster/apply.js';
import { loadKubeConfig, type LoadKubeConfigOptions } from '../../src/cluster/kube-client.js';
import { BaleError } from '../../src/errors.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const TOKEN = 'sha256~SuperSecretTokenValue-DoNotLeak-0123456789';

function kubeconfig(server: string, context: string, token = TOKEN, namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${context}-cluster`,
    '  cluster:',
    `    server: ${server}`,
    'users:',
    `- name: ${context}-user`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}-cluster`,
    `    user: ${context}-user`,
    ...(namespace ? [`    namespace: ${namespace}`] : []),
    `current-context: ${context}`,
    '',
  ].join('\n');
}

let dir: string;
let home: string;
let explicitPath: string;
let envPath: string;
let homePath: string;
let saDir: string;

beforeAll(async () => {
  dir = await makeTempDir('bale-kubeconfig-');
  home = join(dir, 'home');
  await mkdir(join(home, '.kube'), { recursive: true });
  explicitPath = join(dir, 'explicit.yaml');
  envPath = join(dir, 'env.yaml');
  homePath = join(home, '.kube', 'config');
  await writeFile(explicitPath, kubeconfig('https://explicit.example:6443', 'explicit'));
  await writeFile(envPath, kubeconfig('https://env.example:6443', 'env', TOKEN, 'env-ns'));
  await writeFile(homePath, kubeconfig('https://home.example:6443', 'home'));
  saDir = join(dir, 'serviceaccount');
  await mkdir(saDir);
  await writeFile(join(saDir, 'token'), TOKEN);
  await writeFile(join(saDir, 'namespace'), 'pod-ns\n');
});
afterAll(async () => {
  await removeTempDir(dir);
});

const emptyHome = (): string => join(dir, 'nohome');

async function expectClusterError(opts: LoadKubeConfigOptions, pattern: RegExp): Promise<BaleError> {
  const err = await loadKubeConfig(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BaleError);
  const be = err as BaleError;
  expect(be.code).toBe('E_CLUSTER');
  expect(be.message).toMatch(pattern);
  expect(be.hint).toBeTruthy();
  expect(JSON.stringify(be.toJSON())).not.toContain(TOKEN);
  expect(be.message).not.toContain(TOKEN);
  return be;
}

describe('loadKubeConfig resolution order', () => {
  const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('uses --kubeconfig first, over KUBECONFIG, ~/.kube/config and in-cluster', async () => {
    const r = await loadKubeConfig({
      kubeconfig: explicitPath,
      env: { KUBECONFIG: envPath, ...inClusterEnv },
      homeDir: home,
      serviceAccountDir: saDir,
    });
    expect(r).toMatchObject({
      sourceKind: 'explicit',
      source: explicitPath,
      server: 'https://explicit.example:6443',
      context: 'explicit',
    });
  });

  it('then KUBECONFIG, over ~/.kube/config and in-cluster', async () => {
    const r = await loadKubeConfig({
      env: { KUBECONFIG: envPath, ...inClusterEnv },
      homeDir: home,
      serviceAccountDir: saDir,
    });
    expect(r).toMatchObject({ sourceKind: 'env', server: 'https://env.example:6443', namespace: 'env-ns' });
  });

  it('then ~/.kube/config, over in-cluster', async () => {
    const r = await loadKubeConfig({ env: { ...inClusterEnv }, homeDir: home, serviceAccountDir: saDir });
    expect(r).toMatchObject({ sourceKind: 'home', source: homePath, server: 'https://home.example:6443' });
  });

  it('then the in-cluster service account, only when KUBERNETES_SERVICE_HOST is set', async () => {
    const r = await loadKubeConfig({
      env: { ...inClusterEnv },
      homeDir: emptyHome(),
      serviceAccountDir: saDir,
    });
    expect(r).toMatchObject({
      sourceKind: 'in-cluster',
      server: 'https://10.0.0.1:443',
      namespace: 'pod-ns',
    });
    const v6 = await loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      homeDir: emptyHome(),
      serviceAccountDir: saDir,
    });
    expect(v6.server).toBe('https://[fd00::1]:6443');
    await expectClusterError(
      { env: {}, homeDir: emptyHome(), serviceAccountDir: saDir },
      /no kubeconfig found/,
    );
  });

  it('says so when in-cluster is selected but there is no token', async () => {
    await expectClusterError(
      { env: { ...inClusterEnv }, homeDir: emptyHome(), serviceAccountDir: join(dir, 'no-sa') },
      /KUBERNETES_SERVICE_HOST is set but there is no service-account token/,
    );
  });

  it('merges a KUBECONFIG path list, the first file winning; missing entries skipped', async () => {
    const second = join(dir, 'second.yaml');
    await writeFile(second, kubeconfig('https://second.example:6443', 'second'));
    const r = await loadKubeConfig({
      env: { KUBECONFIG: [join(dir, 'missing.yaml'), envPath, second].join(delimiter) },
      homeDir: home,
    });
    expect(r.server).toBe('https://env.example:6443');
    expect(r.kubeConfig.getContexts().map((c) => c.name)).toEqual(['env', 'second']);
    await expectClusterError(
      { env: { KUBECONFIG: join(dir, 'missing.yaml') }, homeDir: home },
      /none of these files exists/,
    );
  });
});

describe('loadKubeConfig errors', () => {
  it('E_CLUSTER for a missing --kubeconfig, even when others exist', async () => {
    await expectClusterError(
      { kubeconfig: join(dir, 'nope.yaml'), env: { KUBECONFIG: envPath }, homeDir: home },
      /nope\.yaml does not exist/,
    );
  });

  // root reads any file, so permissions cannot make one unreadable there.
  it.skipIf(process.getuid?.() === 0)('E_CLUSTER for an unreadable file', async () => {
    const p = join(dir, 'unreadable.yaml');
    await writeFile(p, kubeconfig('https://x.example', 'x'));
    await chmod(p, 0o000);
    try {
      await expectClusterError({ kubeconfig: p, env: {}, homeDir: home }, /not readable/);
    } finally {
      await chmod(p, 0o600);
    }
  });

  it('E_CLUSTER for a path that is a directory', async () => {
    await expectClusterError({ kubeconfig: dir, env: {}, homeDir: home }, /cannot be read \(EISDIR\)/);
  });

  it('never quotes the token from a malformed kubeconfig', async () => {
    const p = join(dir, 'broken.yaml');
    await writeFile(p, `${kubeconfig('https://x.example', 'x')}users: [\n  token: ${TOKEN}\n  : : :\n`);
    const err = await expectClusterError(
      { kubeconfig: p, env: {}, homeDir: home },
      /is not valid YAML \(line \d+, column \d+\)/,
    );
    expect(String(err.stack)).not.toContain(TOKEN);
  });

  it('never quotes the token from a kubeconfig the client library rejects', async () => {
    const p = join(dir, 'noserver.yaml');
    await writeFile(p, kubeconfig('https://x.example', 'x').replace(/ {4}server: .*\n/, ''));
    await expectClusterError(
      { kubeconfig: p, env: {}, homeDir: home },
      /is invalid: clusters\[0\]\.cluster is missing/,
    );
  });

  it('E_CLUSTER when the current context is missing or names nothing', async () => {
    const p = join(dir, 'nocontext.yaml');
    await writeFile(p, kubeconfig('https://x.example', 'x').replace(/current-context: .*\n/, ''));
    await expectClusterError({ kubeconfig: p, env: {}, homeDir: home }, /has no current context/);
    const q = join(dir, 'badcontext.yaml');
    await writeFile(
      q,
      kubeconfig('https://x.example', 'x').replace(/current-context: .*\n/, 'current-context: other\n'),
    );
    await expectClusterError(
      { kubeconfig: q, env: {}, homeDir: home },
      /current context "other" is not defined/,
    );
  });

  it('E_CLUSTER for a file that is not a kubeconfig', async () => {
    const p = join(dir, 'list.yaml');
    await writeFile(p, '- a\n- b\n');
    await expectClusterError({ kubeconfig: p, env: {}, homeDir: home }, /is not a kubeconfig/);
  });
});

describe('a resolved kubeconfig talks to the (fake) API server', () => {
  let kube: FakeKube;
  beforeAll(async () => {
    kube = await startFakeKube();
  });
  afterAll(async () => {
    await kube.stop();
  });

  it('via KUBECONFIG, over HTTPS with its CA and the bearer token', async () => {
    const p = await kube.writeKubeconfig(join(dir, 'fake.yaml'));
    const { kubeConfig } = await loadKubeConfig({ env: { KUBECONFIG: p }, homeDir: home });
    const [r] = await applyObjects(
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { k: 'v' } }],
      {
        kubeConfig,
        overwrite: false,
        dryRun: false,
      },
    );
    expect(r?.action).toBe('created');
    expect(kube.log.every((l) => l.authorized)).toBe(true);
  });

  it('via the in-cluster service account (token file and ca.crt)', async () => {
    const sa = join(dir, 'sa-fake');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), kube.token);
    await writeFile(join(sa, 'ca.crt'), kube.caPem ?? '');
    const port = new URL(kube.url).port;
    const { kubeConfig, server } = await loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      homeDir: emptyHome(),
      serviceAccountDir: sa,
    });
    expect(server).toBe(kube.url);
    const [r] = await applyObjects(
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd', namespace: 'n' }, data: { k: 'v' } }],
      {
        kubeConfig,
        overwrite: false,
        dryRun: false,
      },
    );
    expect(r?.action).toBe('created');
  });
});

describe('reported server URL', () => {
  it('drops credentials embedded in the server URL', async () => {
    const p = join(dir, 'userinfo.yaml');
    await writeFile(p, kubeconfig('https://admin:hunter2secret@api.example:6443', 'u'));
    const r = await loadKubeConfig({ kubeconfig: p, env: {}, homeDir: home });
    expect(r.server).toBe('https://api.example:6443');
  });
});
