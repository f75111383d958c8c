/**
 * The benchmark's source: a registry holding the synthetic release (fixtures/), sized
 * by `incompressibleBytes` and `largeBlobBytes`, plus one extra image with a large
 * compressible (plain tar of text) layer, which bale packs with `--image` and skopeo
 * syncs from the same YAML.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  FixtureBlobs,
  buildFixtureRelease,
  tarStream,
  type FixtureRelease,
  type TarEntry,
  fixturePackArgs,
} from '../fixtures/index.js';
import { imageConfig, imageManifest, type FixtureLayer } from '../fixtures/image-builder.js';
import { RegistryClient } from '../src/registry/client.js';
import { MEDIA_TYPES } from '../src/registry/manifest.js';
import { seededLogText } from '../fixtures/prng.js';
import { startRegistryProcess, type RegistryProcess } from '../fixtures/registry-process.js';

export interface SourceOptions {
  seed: number;
  components: number;
  incompressibleBytes: number;
  largeBlobBytes: number;
  compressibleBytes: number;
  workDir: string;
}

export interface SourceRelease {
  registry: RegistryProcess;
  fx: FixtureRelease;
  /** host/repo@digest of the compressible image. */
  compressibleRef: string;
  /** Bytes of every blob stored in the source registry (what tar reads, less the metadata). */
  blobBytes: number;
  blobCount: number;
  /** bale pack arguments (without --to). */
  packArgs: string[];
  /** skopeo sync --src yaml listing every image bale packs, by digest. */
  skopeoYaml: string;
  /** Every image the YAML names (for checking skopeo's output). */
  imageCount: number;
}

function compressibleEntries(seed: number, total: number): TarEntry[] {
  const fileSize = 8 << 20;
  const entries: TarEntry[] = [];
  for (let i = 0, left = total; left > 0; i++, left -= fileSize) {
    const size = Math.min(fileSize, left);
    entries.push({
      name: `var/log/bench/${i}.log`,
      size,
      stream: () => Readable.from([seededLogText(seed * 1000 + i, size)]),
    });
  }
  return entries;
}

async function pushCompressibleImage(
  client: RegistryClient,
  host: string,
  seed: number,
  bytes: number,
  workDir: string,
): Promise<string> {
  const blobs = new FixtureBlobs(join(workDir, 'compressible-blobs'));
  const stored = await blobs.addStream(tarStream(compressibleEntries(seed, bytes)));
  const layer: FixtureLayer = {
    digest: stored.digest,
    size: stored.size,
    diffId: stored.digest,
    compression: 'none',
  };
  const config = blobs.add(imageConfig({ architecture: 'amd64', layers: [layer] }));
  const manifest = imageManifest('oci', config, [layer]);
  const repo = { registry: host, repository: 'bench/compressible' };
  for (const d of [layer.digest, config.digest]) {
    await client.pushBlob(repo, { digest: d, size: blobs.size(d) }, () => blobs.open(d));
  }
  const digest = await client.putManifest(repo, 'latest', manifest, MEDIA_TYPES.ociManifest);
  await blobs.removeFiles();
  return `${host}/bench/compressible@${digest}`;
}

async function storedBlobs(storageDir: string): Promise<{ bytes: number; count: number }> {
  const root = join(storageDir, 'docker/registry/v2/blobs/sha256');
  let bytes = 0;
  let count = 0;
  for (const prefix of await readdir(root)) {
    for (const hex of await readdir(join(root, prefix))) {
      const st = await stat(join(root, prefix, hex, 'data')).catch(() => undefined);
      if (st) {
        bytes += st.size;
        count++;
      }
    }
  }
  return { bytes, count };
}

export async function buildSource(o: SourceOptions): Promise<SourceRelease> {
  const registry = await startRegistryProcess({ parentDir: o.workDir });
  const client = new RegistryClient({ tlsVerify: false });
  try {
    const fx = await buildFixtureRelease(client, {
      registry: registry.host,
      seed: o.seed,
      components: o.components,
      incompressibleBytes: o.incompressibleBytes,
      ...(o.largeBlobBytes > 0 ? { largeBlobBytes: o.largeBlobBytes } : {}),
      workDir: join(o.workDir, 'fixture'),
    });
    const compressibleRef =
      o.compressibleBytes > 0
        ? await pushCompressibleImage(client, registry.host, o.seed, o.compressibleBytes, o.workDir)
        : '';
    const { bytes, count } = await storedBlobs(registry.storageDir);

    const repos = new Map<string, string[]>();
    const add = (repository: string, digest: string): void => {
      const list = repos.get(repository) ?? [];
      if (!list.includes(digest)) list.push(digest);
      repos.set(repository, list);
    };
    add(fx.release.repository, fx.release.digest);
    for (const c of fx.components) add(c.ref.slice(registry.host.length + 1, c.ref.indexOf('@')), c.digest);
    add(fx.graphData.repository, fx.graphData.digest);
    if (fx.graphData.signatureDigest) add(fx.graphData.repository, fx.graphData.signatureDigest);
    if (compressibleRef) add('bench/compressible', compressibleRef.slice(compressibleRef.indexOf('@') + 1));
    const yaml = [
      `${registry.host}:`,
      '  tls-verify: false',
      '  images:',
      ...[...repos].flatMap(([repo, digests]) => [`    ${repo}:`, ...digests.map((d) => `      - "${d}"`)]),
      '',
    ].join('\n');

    const packArgs = [...fixturePackArgs(fx), ...(compressibleRef ? ['--image', compressibleRef] : [])];
    return {
      registry,
      fx,
      compressibleRef,
      blobBytes: bytes,
      blobCount: count,
      packArgs,
      skopeoYaml: yaml,
      imageCount: [...repos.values()].reduce((n, l) => n + l.length, 0),
    };
  } catch (err) {
    await registry.stop();
    throw err;
  } finally {
    await client.close();
  }
}
