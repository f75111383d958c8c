/**
 * Several releases per bundle along an update path, end to end with the compiled CLI:
 * three synthetic releases of one seed (4.16.3, 4.16.5, 4.16.10; their first two
 * components are shared whole) pushed to a real loopback registry, a loopback update
 * service serving a graph shaped like the real one (nodes with version, payload and the
 * channels metadata key, edges, conditional edges with risks), and `bale pack --config`
 * with an ImageSetConfiguration naming a channel range:
 * - without shortestPath every release of the range, with it the shortest path, the
 *   hops printed before anything is downloaded;
 * - a conditional edge only with --allow-conditional-edges (its risk printed), else no
 *   path: E_NO_UPDATE_PATH, exit 1, nothing written;
 * - every shared blob and manifest once in bundle.json and in the volumes (`zstd -dc | tar -t`);
 * - unpack to a second real registry, skopeo inspect --raw of every release digest;
 * - verify and inspect list every release; a forged second release is refused; a v1
 *   bundle (one `release`) still verifies.
 */
import { createHash } from 'node:crypto';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureRelease, GRAPH_DATA_REPOSITORY, type FixtureRelease } from '../../../fixtures/index.js';
import { reseal } from '../../../fixtures/hostile/damage.js';
import { dropEntries, repointTag } from '../../../fixtures/hostile/forge.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { loadCredentials } from '../../../src/registry/credentials.js';
import { runBale } from '../../helpers/bale.js';
import { setupFixture, type FixtureSetup } from '../../helpers/fixture-setup.js';
import {
  graphDocument,
  startGraphServer,
  type GraphServer,
  type GraphSpec,
} from '../../helpers/graph-server.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { skopeoInspectRaw } from '../../helpers/skopeo.js';
import { expectFinishedBundle, listVolume, readIndex, volumeNames } from './helpers.js';
import { readBundleJson } from '../../helpers/bundle-json.js';

const SEED = 1414;
const CHANNEL = 'stable-4.16';
const SHARED = 2;

let s: FixtureSetup;
const fx = new Map<string, FixtureRelease>();
let graph: GraphServer;
let spec: GraphSpec;
let dest: TestRegistry | undefined;

const fixtureOpts = { components: 4, sharedComponents: SHARED, incompressibleBytes: 48 * 1024 };

beforeAll(async () => {
  s = await setupFixture({ auth: 'none', tls: false, seed: SEED, version: '4.16.3', ...fixtureOpts });
  fx.set('4.16.3', s.fx);
  const credentials = await loadCredentials({ registryConfig: s.reg.authFile, env: {}, homeDir: s.work });
  const client = new RegistryClient({ credentials });
  try {
    for (const version of ['4.16.5', '4.16.10']) {
      // Same seed, same keys, same work directory: one signature store and keyring for all three.
      const r = await buildFixtureRelease(client, {
        ...fixtureOpts,
        registry: s.reg.host,
        seed: SEED,
        version,
        workDir: join(s.work, 'fx'),
        signingKey: s.fx.keys[0],
        secondSigningKey: s.fx.keys[1],
      });
      fx.set(version, r);
    }
  } finally {
    await client.close();
  }
  const payloads: Record<string, string> = {};
  for (const [v, r] of fx) payloads[v] = `${s.reg.host}/${r.release.repository}@${r.release.digest}`;
  spec = {
    releases: { '4.16.3': [CHANNEL], '4.16.5': [CHANNEL], '4.16.10': [CHANNEL] },
    edges: [
      ['4.16.3', '4.16.5'],
      ['4.16.5', '4.16.10'],
      ['4.16.3', '4.16.10'],
    ],
    payloads,
  };
  graph = await startGraphServer({ amd64: spec });
}, 240_000);

afterAll(async () => {
  await graph?.stop();
  await dest?.stop();
  await s?.stop();
});

function isc(channel: string[]): string {
  return [
    'apiVersion: mirror.openshift.io/v2alpha1',
    'kind: ImageSetConfiguration',
    'mirror:',
    '  platform:',
    '    channels:',
    ...channel,
  ].join('\n');
}

/** bale pack arguments without --release and --graph-data (the image set names the releases). */
function packArgs(): string[] {
  const args = s.packArgs();
  args.splice(args.indexOf('--release'), 2);
  args.splice(args.indexOf('--graph-data'), 2);
  return args;
}

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(s.work, name);
  await writeFile(path, `${text}\n`);
  return path;
}

const rangeConfig = (shortest: boolean): string =>
  isc([
    `    - name: ${CHANNEL}`,
    '      minVersion: 4.16.3',
    '      maxVersion: 4.16.10',
    ...(shortest ? ['      shortestPath: true'] : []),
  ]);

/** Every blob and manifest digest a release's tree names in the registry, by bundle.json. */
function entryCounts(index: BundleIndex): Map<string, number> {
  const n = new Map<string, number>();
  for (const e of index.entries) n.set(e.path, (n.get(e.path) ?? 0) + 1);
  return n;
}

let twoReleases: string;

describe('bale pack --config with a channel (update paths)', () => {
  it('without shortestPath: every release of the channel in the range, graph document carried', async () => {
    const cfg = await writeConfig('range.yaml', rangeConfig(false));
    const bundle = join(s.work, 'b-range');
    const r = await runBale([...packArgs(), '--config', cfg, '--graph-url', graph.endpoint, '--to', bundle]);
    expect(r.code, r.stderr).toBe(0);
    const index = await readIndex(bundle);
    expect(index.schema).toBe('bale.bundle/v2');
    expect(index.releases.map((x) => x.version)).toEqual(['4.16.3', '4.16.5', '4.16.10']);
    expect(index.releases.map((x) => x.digest)).toEqual(
      ['4.16.3', '4.16.5', '4.16.10'].map((v) => fx.get(v)!.release.digest),
    );
    expect(index.releases.map((x) => x.tag)).toEqual(['4.16.3-x86_64', '4.16.5-x86_64', '4.16.10-x86_64']);
    // One signature ConfigMap per release.
    expect(index.manifests.sort()).toEqual(
      index.releases.map((x) => `config/signature-sha256-${x.digest.slice(7, 23)}.yaml`).sort(),
    );
    // The graph document as served, listed and carried.
    expect(index.graphs).toHaveLength(1);
    const g = index.graphs![0]!;
    expect(g).toMatchObject({ path: `graph/${CHANNEL}-amd64.json`, channel: CHANNEL, arch: 'amd64' });
    expect(g.releases).toEqual(['4.16.3', '4.16.5', '4.16.10']);
    expect(g.source).toContain(graph.endpoint);
    const served = Buffer.from(JSON.stringify(graphDocument(spec, 'amd64', CHANNEL)));
    expect(g.sha256).toBe(createHash('sha256').update(served).digest('hex'));
    expect(index.entries.find((e) => e.path === g.path)?.sha256).toBe(g.sha256);
    expect(graph.log.some((l) => l.channel === CHANNEL && l.arch === 'amd64' && l.status === 200)).toBe(true);
    await expectFinishedBundle(bundle);
  }, 240_000);

  it('shortestPath: the hops printed before any download, then each blob and manifest once', async () => {
    const cfg = await writeConfig('shortest.yaml', rangeConfig(true));
    const bundle = join(s.work, 'b-shortest');
    const r = await runBale([...packArgs(), '--config', cfg, '--graph-url', graph.endpoint, '--to', bundle]);
    expect(r.code, r.stderr).toBe(0);
    // The plan comes first: the hop line precedes the first release resolution.
    const hop = r.stderr.indexOf('  4.16.3 → 4.16.10\n');
    expect(hop, r.stderr).toBeGreaterThanOrEqual(0);
    expect(r.stderr.indexOf('release 4.16.3 (x86_64)')).toBeGreaterThan(hop);
    expect(r.stdout).toContain('Packed OpenShift 4.16.3, 4.16.10 (2 releases)');
    expect(r.stdout).toContain(`update graph ${CHANNEL} (amd64) from ${graph.endpoint}`);
    // --json: every release, `release` the highest, the graph documents.
    const again = await runBale([
      ...packArgs(),
      '--config',
      cfg,
      '--graph-url',
      graph.endpoint,
      '--to',
      bundle,
      '--json',
    ]);
    expect(again.code, again.stderr).toBe(0);
    const out = JSON.parse(again.stdout) as {
      release: { version: string };
      releases: { version: string; digest: string }[];
      graphs: { path: string }[];
    };
    expect(out.releases.map((x) => x.version)).toEqual(['4.16.3', '4.16.10']);
    expect(out.release.version).toBe('4.16.10');
    expect(out.graphs.map((x) => x.path)).toEqual([`graph/${CHANNEL}-amd64.json`]);

    const index = await readIndex(bundle);
    const a = fx.get('4.16.3')!;
    const b = fx.get('4.16.10')!;
    // The shared components are the same images in both releases: one image, both releases' tags.
    for (let i = 0; i < SHARED; i++) {
      expect(a.components[i]!.digest).toBe(b.components[i]!.digest);
      const imgs = index.images.filter((im) => im.digest === a.components[i]!.digest);
      expect(imgs).toHaveLength(1);
      expect(imgs[0]!.tags.sort()).toEqual(
        [`4.16.10-x86_64-${a.components[i]!.name}`, `4.16.3-x86_64-${a.components[i]!.name}`].sort(),
      );
    }
    expect(a.components[SHARED]!.digest).not.toBe(b.components[SHARED]!.digest);
    // bundle.json lists each path once, and the volumes hold each entry once.
    expect([...entryCounts(index).values()].every((n) => n === 1)).toBe(true);
    const listed: string[] = [];
    for (const v of await volumeNames(bundle)) listed.push(...(await listVolume(join(bundle, v))));
    const blobs = listed.filter((p) => p.includes('/blobs/'));
    expect(new Set(blobs).size).toBe(blobs.length);
    expect(new Set(listed).size).toBe(listed.length);
    // Every blob of both releases' trees is there: the union, counted once each.
    const union = new Set<string>();
    for (const f of [a, b]) {
      for (const img of f.allImages.filter((m) => m.repository !== GRAPH_DATA_REPOSITORY)) {
        union.add(img.digest);
      }
    }
    const manifestBlobs = index.entries.filter(
      (e) => e.type === 'hardlink' && e.path.startsWith('v2/openshift/release/manifests/sha256:'),
    );
    for (const d of union) expect(manifestBlobs.some((e) => e.path.endsWith(d))).toBe(true);
    expect(manifestBlobs.length).toBe(union.size);
    for (let i = 0; i < SHARED; i++) {
      const d = a.components[i]!.digest;
      expect(listed.filter((p) => p === `v2/openshift/release/blobs/${d}`)).toHaveLength(1);
      expect(listed.filter((p) => p === `v2/openshift/release/manifests/${d}`)).toHaveLength(1);
    }
    twoReleases = bundle;
  }, 240_000);

  it('no unconditional path: E_NO_UPDATE_PATH naming both versions and the channel, exit 1, nothing written', async () => {
    const file = join(s.work, 'conditional-graph.json');
    await writeFile(file, JSON.stringify(graphDocument(conditionalSpec(), 'amd64', CHANNEL)));
    const cfg = await writeConfig('conditional.yaml', rangeConfig(true));
    const bundle = join(s.work, 'b-no-path');
    const r = await runBale([...packArgs(), '--config', cfg, '--graph-file', file, '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_NO_UPDATE_PATH]');
    expect(r.stderr).toContain('4.16.3');
    expect(r.stderr).toContain('4.16.10');
    expect(r.stderr).toContain(CHANNEL);
    expect((await readdir(bundle).catch(() => [] as string[])).filter((n) => n !== '.bale')).toEqual([]);
  }, 120_000);

  it('--allow-conditional-edges takes the conditional update and prints its risk', async () => {
    const file = join(s.work, 'conditional-graph.json');
    await writeFile(file, JSON.stringify(graphDocument(conditionalSpec(), 'amd64', CHANNEL)));
    const cfg = await writeConfig('conditional.yaml', rangeConfig(true));
    const bundle = join(s.work, 'b-conditional');
    const r = await runBale([
      ...packArgs(),
      '--config',
      cfg,
      '--graph-file',
      file,
      '--allow-conditional-edges',
      '--to',
      bundle,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('4.16.3 → 4.16.10 (conditional update)');
    expect(r.stderr).toContain('FixtureEtcdRisk: etcd may be slow (https://example.invalid/risk)');
    const index = await readIndex(bundle);
    expect(index.releases.map((x) => x.version)).toEqual(['4.16.3', '4.16.10']);
    expect(index.graphs?.[0]?.source).toBe(file);
  }, 240_000);

  it('--arch: a release of another architecture is E_CONFIG naming both, nothing written', async () => {
    const bundle = join(s.work, 'b-arch');
    const r = await runBale([...s.packArgs(), '--arch', 'arm64', '--to', bundle]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_CONFIG]');
    expect(r.stderr).toContain('--arch asks for arm64, but release 4.16.3');
    expect(r.stderr).toContain('is x86_64');
    expect((await readdir(bundle).catch(() => [] as string[])).filter((n) => n !== '.bale')).toEqual([]);
    const bad = await runBale([...s.packArgs(), '--arch', 'sparc', '--to', join(s.work, 'b-arch-bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unsupported release architecture "sparc"');
  }, 120_000);

  it('--graph-file and --graph-url together are a usage error', async () => {
    const r = await runBale([
      ...packArgs(),
      '--graph-file',
      'x.json',
      '--graph-url',
      graph.endpoint,
      '--to',
      join(s.work, 'b-usage'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mutually exclusive|graph-file/);
  });
});

function conditionalSpec(): GraphSpec {
  return {
    releases: { '4.16.3': [CHANNEL], '4.16.10': [CHANNEL] },
    edges: [],
    conditionalEdges: [
      {
        edges: [['4.16.3', '4.16.10']],
        risks: [
          { name: 'FixtureEtcdRisk', message: 'etcd may be slow', url: 'https://example.invalid/risk' },
        ],
      },
    ],
    payloads: spec.payloads!,
  };
}

describe('the far side of a two-release bundle', () => {
  it('verify (text and json) and inspect (json, table, csv) list both releases', async () => {
    expect(twoReleases).toBeDefined();
    const text = await runBale(['verify', twoReleases, '--keyring', s.fx.keyringPath]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    for (const v of ['4.16.3', '4.16.10']) {
      expect(text.stdout).toContain(`release ${v} (x86_64) ${fx.get(v)!.release.digest}`);
    }
    const json = await runBale(['verify', twoReleases, '--keyring', s.fx.keyringPath, '--json']);
    const report = JSON.parse(json.stdout) as { ok: boolean; releases: { version: string }[] };
    expect(report.ok).toBe(true);
    expect(report.releases.map((x) => x.version)).toEqual(['4.16.3', '4.16.10']);

    const ins = await runBale(['inspect', twoReleases, '--output', 'json']);
    expect(ins.code, ins.stderr).toBe(0);
    const ir = JSON.parse(ins.stdout) as { releases: { digest: string }[]; graphs: { path: string }[] };
    expect(ir.releases.map((x) => x.digest)).toEqual(
      ['4.16.3', '4.16.10'].map((v) => fx.get(v)!.release.digest),
    );
    expect(ir.graphs.map((g) => g.path)).toEqual([`graph/${CHANNEL}-amd64.json`]);
    const table = await runBale(['inspect', twoReleases]);
    expect(table.stdout).toContain(`Release   4.16.3 (x86_64)  ${fx.get('4.16.3')!.release.digest}`);
    expect(table.stdout).toContain(`Release   4.16.10 (x86_64)  ${fx.get('4.16.10')!.release.digest}`);
    expect(table.stdout).toContain(`Update    ${CHANNEL} (amd64): 4.16.3 → 4.16.10`);
    const csv = await runBale(['inspect', twoReleases, '--output', 'csv']);
    expect(csv.stdout).toMatch(/\b4\.16\.3-x86_64\b/);
    expect(csv.stdout).toMatch(/\b4\.16\.10-x86_64\b/);
  }, 120_000);

  it('unpack pushes every release: skopeo inspect --raw of each release digest; next steps name each', async () => {
    dest = await startRegistry();
    const r = await runBale([
      'unpack',
      twoReleases,
      '--to',
      `${dest.host}/mirror`,
      '--dest-tls-verify=false',
      '--keyring',
      s.fx.keyringPath,
      '--manifests-to-dir',
      join(s.work, 'manifests-two'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      releases: { version: string; digest: string; mirror: string }[];
      nextSteps: string[];
    };
    expect(out.releases.map((x) => x.version)).toEqual(['4.16.3', '4.16.10']);
    for (const v of ['4.16.3', '4.16.10']) {
      const { digest } = fx.get(v)!.release;
      const raw = await skopeoInspectRaw(`mirror/openshift/release@${digest}`, dest!);
      expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(digest);
      const byTag = await skopeoInspectRaw(`mirror/openshift/release:${v}-x86_64`, dest!);
      expect(byTag).toBe(raw);
      expect(out.nextSteps.some((n) => n.includes(`release@${digest}`))).toBe(true);
    }
    const dir = join(s.work, 'oc-dir');
    const d = await runBale([
      'unpack',
      twoReleases,
      '--to-dir',
      dir,
      '--keyring',
      s.fx.keyringPath,
      '--manifests-to-dir',
      join(s.work, 'manifests-dir'),
      '--json',
    ]);
    expect(d.code, d.stderr).toBe(0);
    const steps = (JSON.parse(d.stdout) as { nextSteps: string[] }).nextSteps;
    expect(steps.some((n) => n.includes('file://openshift/release:4.16.3*'))).toBe(true);
    expect(steps.some((n) => n.includes('file://openshift/release:4.16.10*'))).toBe(true);
  }, 240_000);

  it('a second release whose signatures were removed (every checksum re-sealed) is refused', async () => {
    const copy = join(s.work, 'forged-unsigned');
    await cp(twoReleases, copy, { recursive: true });
    const index = await readBundleJson(copy);
    const second = index.releases[1]!;
    const hex = second.digest.slice(7);
    index.signatures = index.signatures.filter((x) => x.digest !== second.digest);
    index.manifests = index.manifests.filter((m) => !m.includes(hex.slice(0, 16)));
    await dropEntries(
      copy,
      index,
      (p) => p.startsWith(`signatures/sha256=${hex}/`) || p.includes(`signature-sha256-${hex.slice(0, 16)}`),
    );
    const r = await runBale(['verify', copy, '--keyring', s.fx.keyringPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[E_SIGNATURE_NONE]');
    expect(r.stdout).toContain(`release 4.16.10 (${second.digest})`);
    const u = await runBale([
      'unpack',
      copy,
      '--to',
      `${dest!.host}/forged`,
      '--dest-tls-verify=false',
      '--keyring',
      s.fx.keyringPath,
      '--manifests-to-dir',
      join(s.work, 'manifests-forged'),
    ]);
    expect(u.code).toBe(1);
  }, 120_000);

  it("a second release's tag re-pointed at the first release (re-sealed) is a trust mismatch", async () => {
    const copy = join(s.work, 'forged-tag');
    await cp(twoReleases, copy, { recursive: true });
    const index = await readBundleJson(copy);
    const [first, second] = index.releases;
    await repointTag(copy, index, `v2/openshift/release/manifests/${second!.tag}`, first!.digest);
    const r = await runBale(['verify', copy, '--keyring', s.fx.keyringPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[E_TRUST_MISMATCH]');
    expect(r.stdout).toContain(second!.tag);
  }, 120_000);

  it('a v1 bundle (one `release`, no `graphs`) still verifies and inspects', async () => {
    const bundle = join(s.work, 'b-one');
    const p = await runBale([...s.packArgs(), '--to', bundle, '--quiet']);
    expect(p.code, p.stderr).toBe(0);
    const v2 = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')) as Record<string, unknown>;
    const { releases, graphs: _graphs, ...rest } = v2 as { releases: unknown[]; graphs?: unknown };
    const v1: Record<string, unknown> = {};
    for (const [k, val] of Object.entries({ ...rest, schema: 'bale.bundle/v1' })) {
      v1[k] = val;
      if (k === 'volumeSize') v1.release = releases[0];
    }
    await reseal(bundle, `${JSON.stringify(v1, null, 2)}\n`);
    const r = await runBale(['verify', bundle, '--keyring', s.fx.keyringPath, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(
      (JSON.parse(r.stdout) as { releases: { version: string }[] }).releases.map((x) => x.version),
    ).toEqual(['4.16.3']);
    const ins = await runBale(['inspect', bundle, '--output', 'json']);
    const ir = JSON.parse(ins.stdout) as { schema: string; release: { version: string } };
    expect(ir.schema).toBe('bale.bundle/v1');
    expect(ir.release.version).toBe('4.16.3');
  }, 180_000);
});
