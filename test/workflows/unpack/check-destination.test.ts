/**
 * What the mirror already has, learned by HEAD before anything is sent
 * (src/workflows/unpack/check-destination.ts), against a real registry: blobs present
 * per repository, manifests and tags present, tags naming another image refused unless
 * --overwrite, and nothing written to the mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleEntry } from '../../../src/bundle/index-schema.js';
import { silentProgress, type Progress } from '../../../src/progress.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { checkDestination } from '../../../src/workflows/unpack/check-destination.js';
import type { RepoContent } from '../../../src/workflows/unpack/repositories.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { pushTinyImage } from '../../helpers/skopeo.js';
import { makeTinyImage, type TinyImage } from '../../helpers/tiny-image.js';

let reg: TestRegistry;
let client: RegistryClient;
let there: TinyImage;
let notThere: TinyImage;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  client = new RegistryClient({ retry: { attempts: 1 } });
  there = await pushTinyImage(reg, 'prefix/app:v1', 81);
  await pushTinyImage(reg, 'prefix/app:taken', 83); // a tag the bundle wants for another image
  notThere = makeTinyImage(82);
});
afterAll(async () => {
  await client?.close();
  await reg?.stop();
});

function entry(digest: string, size: number): BundleEntry {
  return { path: `v2/app/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`, type: 'file', size };
}

function repoContent(tags: { tag: string; digest: string }[]): RepoContent {
  const blobs = [there.config, ...there.layers, notThere.config];
  return {
    repository: 'app',
    dest: { registry: reg.host, repository: 'prefix/app' },
    blobs: blobs.map((b) => entry(b.digest, b.size)),
    blobDigest: new Map(blobs.map((b) => [entry(b.digest, b.size).path, b.digest])),
    manifests: [there.manifest.digest, notThere.manifest.digest],
    tags,
  };
}

function counting(): Progress & { items: number; total?: number } {
  const p = {
    items: 0,
    total: undefined as number | undefined,
    phase: (_n: string, t?: { items?: number }) => void (p.total = t?.items),
    advance: (_b: number, items = 0) => void (p.items += items),
    info() {},
    warn() {},
  };
  return p;
}

describe('checkDestination', () => {
  it('present blobs by repository, missing ones by entry path, manifests and tags already right', async () => {
    const progress = counting();
    const repo = repoContent([
      { tag: 'v1', digest: there.manifest.digest },
      { tag: 'v2', digest: notThere.manifest.digest },
    ]);
    const state = await checkDestination({
      repos: [repo],
      client,
      registry: reg.host,
      concurrency: 4,
      overwrite: false,
      progress,
    });
    expect(state.blobsPresent).toBe(1 + there.layers.length);
    expect(state.present.get(there.config.digest)).toEqual(new Set(['prefix/app']));
    expect([...state.missing.values()].map((m) => m.digest)).toEqual([notThere.config.digest]);
    expect([...state.missing.keys()]).toEqual([entry(notThere.config.digest, 0).path]);
    expect(state.manifestPresent).toEqual(new Set([`prefix/app@${there.manifest.digest}`]));
    expect(state.tagPresent).toEqual(new Set(['prefix/app:v1']));
    expect(progress.total).toBe(repo.blobs.length + 2 + 2);
    expect(progress.items).toBe(progress.total);
  });

  it('a tag naming another image: E_TAG_CONFLICT before anything is pushed, listing it; --overwrite goes on', async () => {
    const before = (await client.headManifest({ registry: reg.host, repository: 'prefix/app' }, 'taken'))
      ?.digest;
    const repo = repoContent([{ tag: 'taken', digest: there.manifest.digest }]);
    const o = { repos: [repo], client, registry: reg.host, concurrency: 4, progress: silentProgress };
    const err = await checkDestination({ ...o, overwrite: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_TAG_CONFLICT',
      message: `1 tag(s) in ${reg.host} already name another image: prefix/app:taken is ${before}, the bundle has ${there.manifest.digest}`,
      hint: expect.stringContaining('--overwrite'),
      details: { conflicts: [`prefix/app:taken is ${before}, the bundle has ${there.manifest.digest}`] },
    });
    const state = await checkDestination({ ...o, overwrite: true });
    expect(state.tagPresent.size).toBe(0);
    // the check changes nothing in the mirror
    expect(
      (await client.headManifest({ registry: reg.host, repository: 'prefix/app' }, 'taken'))?.digest,
    ).toBe(before);
  });

  it('an unreachable mirror fails once, on the first request, not once per item', async () => {
    const closed = new RegistryClient({ retry: { attempts: 1 } });
    const repo = { ...repoContent([]), dest: { registry: '127.0.0.1:1', repository: 'prefix/app' } };
    const err = await checkDestination({
      repos: [repo],
      client: closed,
      registry: '127.0.0.1:1',
      concurrency: 4,
      overwrite: false,
      progress: silentProgress,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_RETRIES_EXHAUSTED' });
    expect(closed.stats.requests).toBeLessThanOrEqual(2); // the HTTPS and HTTP probes of the first check
    await closed.close();
  });

  it('an aborted signal stops before the first request', async () => {
    const aborted = new AbortController();
    aborted.abort();
    const before = client.stats.requests;
    await expect(
      checkDestination({
        repos: [repoContent([])],
        client,
        registry: reg.host,
        concurrency: 4,
        overwrite: false,
        progress: silentProgress,
        signal: aborted.signal,
      }),
    ).rejects.toThrow();
    expect(client.stats.requests).toBe(before);
  });

  it('nothing to check: an empty state', async () => {
    const state = await checkDestination({
      repos: [],
      client,
      registry: reg.host,
      concurrency: 4,
      overwrite: false,
      progress: silentProgress,
    });
    expect(state).toEqual({
      present: new Map(),
      missing: new Map(),
      manifestPresent: new Set(),
      tagPresent: new Set(),
      blobsPresent: 0,
    });
  });
});
