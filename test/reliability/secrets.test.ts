/**
 * Secrets never leak. pack from an htpasswd+TLS registry, unpack into a token+TLS
 * registry and apply to a (fake) cluster with a kubeconfig bearer token; good runs and
 * failing runs (wrong password, unreachable registry, wrong cluster token), with and
 * without --json and --debug. Every stdout/stderr and every file in the bundle, the
 * manifests dir and the --to-dir is searched for the passwords, their base64 auth
 * strings, the cluster token and any JWT (the registry's bearer tokens): none may appear.
 * Auth files and the kubeconfig are read, never written (content and mtime unchanged).
 */
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupFixture, type FixtureSetup } from '../helpers/fixture-setup.js';
import { startFakeKube, type FakeKube } from '../helpers/fake-kube.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort, makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { announceSeed, bale, describeRun, suiteSeed } from './rig.js';

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const ent of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) out.push(p);
    }
  }
  await walk(dir);
  return out;
}

async function fileState(path: string): Promise<{ content: string; mtimeMs: number }> {
  return { content: await readFile(path, 'utf8'), mtimeMs: (await stat(path)).mtimeMs };
}

describe('secrets', () => {
  const seed = suiteSeed(50);
  let fx: FixtureSetup;
  let dest: TestRegistry;
  let kube: FakeKube;
  let scratch: string;
  let kubeconfig: string;
  const outputs: { what: string; text: string }[] = [];

  beforeAll(async () => {
    announceSeed('secrets', seed);
    fx = await setupFixture({
      auth: 'htpasswd',
      tls: true,
      seed,
      components: 2,
      incompressibleBytes: 256 << 10,
    });
    dest = await startRegistry({ auth: 'token', tls: true });
    kube = await startFakeKube({ tls: true });
    scratch = await makeTempDir('bale-rel-secrets-');
    kubeconfig = await kube.writeKubeconfig(join(scratch, 'kubeconfig'));
  });
  afterAll(async () => {
    await kube?.stop();
    await dest?.stop();
    await fx?.stop();
    if (scratch) await removeTempDir(scratch);
  });

  function secrets(): { name: string; value: string }[] {
    const list: { name: string; value: string }[] = [];
    for (const [side, reg] of [
      ['source', fx.reg],
      ['destination', dest],
    ] as const) {
      const user = reg.username ?? '';
      const pass = reg.password ?? '';
      list.push({ name: `${side} password`, value: pass });
      list.push({ name: `${side} basic auth`, value: Buffer.from(`${user}:${pass}`).toString('base64') });
      list.push({ name: `${side} password base64`, value: Buffer.from(pass).toString('base64') });
    }
    list.push({ name: 'cluster token', value: kube.token });
    return list.filter((s) => s.value.length >= 6);
  }

  it('no password, auth string or token in any output or file, good and failing runs', async () => {
    const authBefore = await fileState(fx.reg.authFile);
    const destAuthBefore = await fileState(dest.authFile);
    const kubeBefore = await fileState(kubeconfig);
    const record = (what: string, r: { stdout: string; stderr: string }): void => {
      outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    };

    const bundleDir = join(scratch, 'bundle');
    // good pack, --json --debug
    const pack = await bale([...fx.packArgs(), '--to', bundleDir, '--json', '--debug']);
    expect(pack.code, describeRun(pack)).toBe(0);
    record('pack --json --debug', pack);

    // wrong password
    const wrongAuth = join(scratch, 'wrong-auth.json');
    await writeFile(
      wrongAuth,
      JSON.stringify({
        auths: {
          [fx.reg.host]: {
            auth: Buffer.from(`${fx.reg.username ?? ''}:not-the-password`).toString('base64'),
          },
        },
      }),
    );
    for (const flags of [['--debug'], ['--json', '--debug'], []]) {
      const args = fx.packArgs().map((a) => (a === fx.reg.authFile ? wrongAuth : a));
      const r = await bale([...args, '--to', join(scratch, `wrong-${flags.join('')}`), ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/E_AUTH|E_DENIED/);
      record(`pack wrong password ${flags.join(' ')}`, r);
    }
    // unreachable registry, right credentials file
    const deadHost = `127.0.0.1:${await freePort()}`;
    const unreachable = await bale(
      [
        ...fx.packArgs().map((a) => a.replace(fx.reg.host, deadHost)),
        '--to',
        join(scratch, 'unreachable'),
        '--debug',
        '--json',
      ],
      { timeoutMs: 90_000 },
    );
    expect(unreachable.code).toBe(1);
    record('pack unreachable', unreachable);

    // good unpack: push to the token registry, write the dir layout, apply with the kubeconfig token
    const manifests = join(scratch, 'manifests');
    const toDir = join(scratch, 'to-dir');
    const unpackArgs = [
      'unpack',
      bundleDir,
      '--to',
      `${dest.host}/mirror`,
      '--to-dir',
      toDir,
      '--ca-file',
      dest.caFile ?? '',
      '--registry-config',
      dest.authFile,
      '--keyring',
      fx.fx.keyringPath,
      '--manifests-to-dir',
      manifests,
      '--apply-manifests',
      '--kubeconfig',
      kubeconfig,
    ];
    const unpack = await bale([...unpackArgs, '--json', '--debug']);
    expect(unpack.code, describeRun(unpack)).toBe(0);
    record('unpack --json --debug', unpack);
    const unpackPlain = await bale(unpackArgs);
    expect(unpackPlain.code, describeRun(unpackPlain)).toBe(0);
    record('unpack', unpackPlain);

    // unpack with a wrong destination password
    const wrongDest = join(scratch, 'wrong-dest-auth.json');
    await writeFile(
      wrongDest,
      JSON.stringify({
        auths: {
          [dest.host]: { auth: Buffer.from(`${dest.username ?? ''}:not-the-password`).toString('base64') },
        },
      }),
    );
    for (const flags of [['--debug'], ['--json', '--debug']]) {
      const r = await bale([...unpackArgs.map((a) => (a === dest.authFile ? wrongDest : a)), ...flags]);
      expect(r.code).toBe(1);
      record(`unpack wrong password ${flags.join(' ')}`, r);
    }
    // a cluster that refuses the token
    const badKube = join(scratch, 'bad-kubeconfig');
    await kube.writeKubeconfig(badKube, { token: 'sha256~wrong-token-for-the-cluster' });
    const kubeFail = await bale([
      ...unpackArgs.map((a) => (a === kubeconfig ? badKube : a)),
      '--json',
      '--debug',
    ]);
    expect(kubeFail.code).toBe(1);
    record('unpack wrong cluster token', kubeFail);

    // search everything
    const leaks: string[] = [];
    const all = secrets();
    const jwt = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
    for (const o of outputs) {
      for (const s of all) if (o.text.includes(s.value)) leaks.push(`${s.name} in ${o.what}`);
      if (jwt.test(o.text)) leaks.push(`a JWT in ${o.what}`);
    }
    let filesSearched = 0;
    for (const dir of [bundleDir, manifests, toDir]) {
      for (const f of await allFiles(dir)) {
        filesSearched++;
        const text = (await readFile(f)).toString('latin1');
        for (const s of all) if (text.includes(s.value)) leaks.push(`${s.name} in ${relative(scratch, f)}`);
        if (jwt.test(text)) leaks.push(`a JWT in ${relative(scratch, f)}`);
      }
    }
    console.log(
      `[reliability] secrets: searched ${outputs.length} outputs and ${filesSearched} files for ${all.length} secrets + JWTs: ${leaks.length} leaks`,
    );
    expect(leaks).toEqual([]);
    expect(dest.tokenIssuer?.requests.some((r) => r.status === 200)).toBe(true);

    expect(await fileState(fx.reg.authFile)).toEqual(authBefore);
    expect(await fileState(dest.authFile)).toEqual(destAuthBefore);
    expect(await fileState(kubeconfig)).toEqual(kubeBefore);
  }, 300_000); // some twenty bale runs: minutes on a loaded machine
});
