import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildFixtureRelease, type FixtureRelease } from '../../fixtures/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { pack, type PackOptions } from '../../src/workflows/pack.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

const lockOwner = {
  pid: process.pid,
  hostname: hostname(),
  isAlive: () => false,
};

describe('pack (fixture release in a real registry with htpasswd auth)', () => {
  let reg: TestRegistry;
  let fx: FixtureRelease;
  let work: string;
  let base: PackOptions;

  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    work = await makeTempDir('bale-pack-');
    const credentials = await loadCredentials({ registryConfig: reg.authFile, env: {}, homeDir: work });
    const client = new RegistryClient({ credentials });
    fx = await buildFixtureRelease(client, { registry: reg.host, seed: 7, workDir: join(work, 'fx') });
    await client.close();
    base = {
      release: fx.release.ref,
      to: '',
      graphData: fx.graphData.ref,
      signatureStores: [`file://${fx.storeDir}`],
      keyrings: [fx.keyringPath],
      registryConfig: reg.authFile,
      env: {},
      homeDir: work,
      lockOwner,
    };
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) await removeTempDir(work);
  });

  it('writes volumes, index and checksums that standard tools accept', async () => {
    const to = join(work, 'bundle');
    const result = await pack({ ...base, to });
    expect(result.release.version).toBe(fx.release.version);
    expect(result.release.digest).toBe(fx.release.digest);
    expect(result.signatures.length).toBeGreaterThan(0);

    const names = (await readdir(to)).sort();
    expect(names).toEqual(['SHA256SUMS', 'bundle.json', 'volume-001.tar.zst']);
    await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: to });

    const out = join(work, 'extract');
    await run('mkdir', ['-p', out]);
    await run('sh', ['-c', `zstd -dc ${join(to, 'volume-001.tar.zst')} | tar -x -C ${out}`]);
    const repo = join(out, 'v2/openshift/release');
    const tag = `${fx.release.version}-x86_64`;
    expect(await readlink(join(repo, 'manifests', tag))).toBe(fx.release.digest);
    const m = await lstat(join(repo, 'manifests', fx.release.digest));
    const b = await lstat(join(repo, 'blobs', fx.release.digest));
    expect(m.ino).toBe(b.ino);
    for (const c of fx.components) {
      expect(await readlink(join(repo, 'manifests', `${tag}-${c.name}`))).toBe(c.digest);
    }
    const hex = fx.release.digest.slice(7);
    const cm = YAML.parse(await readFile(join(out, 'config', `signature-sha256-${hex.slice(0, 16)}.yaml`), 'utf8'));
    expect(cm.metadata.name).toBe(`sha256-${hex}`);
    expect(Object.keys(cm.binaryData)[0]).toBe(`sha256-${hex}-1`);
    expect((await stat(join(out, 'signatures', `sha256=${hex}`, 'signature-1'))).size).toBeGreaterThan(0);
    const g = join(out, 'v2/openshift/graph-data/manifests');
    expect(await readlink(join(g, 'latest'))).toBe(fx.graphData.digest);
    expect(await readlink(join(g, fx.graphData.signatureTag))).toBe(fx.graphData.signatureDigest);

    const index = JSON.parse(await readFile(join(to, 'bundle.json'), 'utf8'));
    expect(index.release.digest).toBe(fx.release.digest);
    expect(index.graphData.revision).toBe(fx.graphData.revision);
  });
});
