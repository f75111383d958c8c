/**
 * bale snapshot against real registries: the document equals what was pushed (and what
 * skopeo sees), is byte-identical across runs and page sizes, --minimal, --repository,
 * and the catalog refused (token auth without catalog access) or absent (404).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../../src/errors.js';
import { sha256Digest } from '../../../src/digest.js';
import { renderSnapshotCsv, renderSnapshotYaml } from '../../../src/sets/snapshot-document.js';
import { snapshot, type SnapshotOptions } from '../../../src/workflows/snapshot/index.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, writeAuthFile, type TestRegistry } from '../../helpers/registry.js';
import { skopeoInspectRaw, skopeoOk, registryFlags } from '../../helpers/skopeo.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { PREFIX, asRecord, pushContent, type PushedContent } from './registry-content.js';

const base = (reg: TestRegistry): Omit<SnapshotOptions, 'registry'> => ({
  registryConfig: reg.authFile,
  ...(reg.caFile !== undefined ? { caFile: reg.caFile } : {}),
  env: {},
  homeDir: '/nonexistent',
  retry: { attempts: 1 },
});

async function errorOf(p: Promise<unknown>): Promise<BaleError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BaleError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('a plain registry', () => {
  let reg: TestRegistry;
  let content: PushedContent;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none' });
    content = await pushContent(reg);
  }, 60_000);
  afterAll(async () => {
    await reg?.stop();
  });

  it('lists every repository under the prefix, every tag, digest and child of a manifest list (a repository without tags: nothing)', async () => {
    const r = await snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}` });
    expect(r.source).toBe(`${reg.host}/${PREFIX}`);
    expect(asRecord(r.document)).toEqual(content.expected);
    expect(r.document.map((e) => e.name)).toEqual(['multi', 'openshift/release', 'tools']);
  });

  it('agrees with skopeo on tags and digests', async () => {
    const r = await snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}` });
    for (const entry of r.document) {
      const { stdout } = await skopeoOk([
        'list-tags',
        ...registryFlags(reg, ''),
        `docker://${reg.host}/${PREFIX}/${entry.name}`,
      ]);
      const tags = (JSON.parse(stdout) as { Tags: string[] }).Tags;
      expect(Object.values(entry.dmap).flat().sort()).toEqual([...tags].sort());
      for (const [digest, tagsOf] of Object.entries(entry.dmap)) {
        for (const t of tagsOf) {
          const raw = await skopeoInspectRaw(`${PREFIX}/${entry.name}:${t}`, reg);
          expect(sha256Digest(raw)).toBe(digest);
        }
      }
    }
  });

  it('is byte-identical across runs and page sizes, in YAML, CSV and JSON', async () => {
    const a = await snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}` });
    const b = await snapshot({
      ...base(reg),
      registry: `${reg.host}/${PREFIX}/`,
      pageSize: 1,
      concurrency: 1,
    });
    expect(renderSnapshotYaml(b.document)).toBe(renderSnapshotYaml(a.document));
    expect(renderSnapshotCsv(b.document)).toBe(renderSnapshotCsv(a.document));
    expect(JSON.stringify(b.document)).toBe(JSON.stringify(a.document));
  });

  it('--minimal leaves out the untagged children', async () => {
    const r = await snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}`, minimal: true });
    expect(asRecord(r.document)).toEqual(content.minimal);
    const csv = renderSnapshotCsv(r.document);
    for (const c of content.childDigests) expect(csv).not.toContain(c);
  });

  it('the whole registry when no prefix is given', async () => {
    const r = await snapshot({ ...base(reg), registry: reg.host });
    expect(r.document.map((e) => e.name)).toEqual([
      'elsewhere/app',
      `${PREFIX}/multi`,
      `${PREFIX}/openshift/release`,
      `${PREFIX}/tools`,
    ]);
  });

  it('--repository lists only the named repositories; a missing one is E_NOT_FOUND naming it', async () => {
    const r = await snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}`, repositories: ['tools'] });
    expect(asRecord(r.document)).toEqual({ tools: content.expected.tools });
    const err = await errorOf(
      snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}`, repositories: ['tools', 'no/such'] }),
    );
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.message).toContain(`${reg.host}/${PREFIX}/no/such does not exist (or has no tags)`);
    expect(err.hint).toContain('--repository no/such');
  });

  it('usage errors: a bad target, a bad --repository, neither or both sources', async () => {
    await expect(snapshot({ ...base(reg), registry: 'not a host/x' })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    await expect(
      snapshot({ ...base(reg), registry: reg.host, repositories: ['Bad Name'] }),
    ).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(snapshot({ ...base(reg) })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(snapshot({ ...base(reg), registry: reg.host, bundleDir: '/x' })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
  });
});

describe('a registry whose catalog is refused or absent', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let tmp: string;
  let content: PushedContent;
  beforeAll(async () => {
    reg = await startRegistry({
      auth: 'token',
      token: { grant: (_user, requested) => (requested.type === 'registry' ? [] : requested.actions) },
    });
    content = await pushContent(reg);
    tmp = await makeTempDir('bale-snap-');
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (tmp) await removeTempDir(tmp);
  });

  it('catalog not allowed: E_CATALOG_UNAVAILABLE with a hint to use --repository', async () => {
    const err = await errorOf(snapshot({ ...base(reg), registry: `${reg.host}/${PREFIX}` }));
    expect(err.code).toBe('E_CATALOG_UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`cannot list the repositories of ${reg.host}`));
    expect(err.hint).toMatch(/--repository NAME/);
  });

  it('with --repository the snapshot works all the same', async () => {
    const r = await snapshot({
      ...base(reg),
      registry: `${reg.host}/${PREFIX}`,
      repositories: ['openshift/release', 'multi', 'tools'],
    });
    expect(asRecord(r.document)).toEqual(content.expected);
  });

  it('catalog answered 404 (disabled): E_CATALOG_UNAVAILABLE', async () => {
    proxy = await startFaultProxy(reg.host, {
      rules: [{ path: /^\/v2\/_catalog/, fault: { kind: 'status', status: 404, body: '{"errors":[]}' } }],
    });
    const authFile = `${tmp}/proxy-auth.json`;
    await writeAuthFile(reg, authFile, proxy.host);
    const err = await errorOf(
      snapshot({ ...base(reg), registryConfig: authFile, registry: `${proxy.host}/${PREFIX}` }),
    );
    expect(err.code).toBe('E_CATALOG_UNAVAILABLE');
    expect(err.message).toMatch(/no catalog API/);
    expect(err.details.status).toBe(404);
  });
});

describe('an unreachable registry', () => {
  it('a network error naming the registry (retries exhausted)', async () => {
    const srv = await startRegistry({ auth: 'none' });
    const host = srv.host;
    await srv.stop();
    const err = await errorOf(
      snapshot({ registry: `${host}/x`, env: {}, homeDir: '/nonexistent', retry: { attempts: 1 } }),
    );
    expect(err.code).toBe('E_RETRIES_EXHAUSTED');
    expect(err.message).toContain(host);
    expect(err.message).toMatch(/refused|ECONNREFUSED|connect/i);
  });
});
