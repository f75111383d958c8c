/**
 * Known content pushed into a real registry for snapshot tests: repositories under a
 * prefix and one outside it, a digest with two tags, a multi-arch index with two
 * children, pushed with bale's own client (cross-checked with skopeo in the tests).
 */
import { Readable } from 'node:stream';
import { loadCredentials } from '../../../src/registry/credentials.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { MEDIA_TYPES } from '../../../src/registry/manifest.js';
import type { TestRegistry } from '../../helpers/registry.js';
import { makeTinyImage, type TinyImage } from '../../helpers/tiny-image.js';

export const PREFIX = 'ocp4';

export interface PushedContent {
  /** Relative to PREFIX: name → digest → tags (sorted), children untagged. */
  expected: Record<string, Record<string, string[]>>;
  /** The same without the untagged children. */
  minimal: Record<string, Record<string, string[]>>;
  indexDigest: string;
  childDigests: string[];
}

export async function clientFor(reg: TestRegistry): Promise<RegistryClient> {
  const credentials = await loadCredentials({
    registryConfig: reg.authFile,
    env: {},
    homeDir: '/nonexistent',
  });
  return new RegistryClient({
    credentials,
    ...(reg.caFile !== undefined ? { caFile: reg.caFile } : {}),
    retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
  });
}

async function push(
  client: RegistryClient,
  reg: TestRegistry,
  repository: string,
  tags: string[],
  image: TinyImage,
) {
  const repo = { registry: reg.host, repository };
  for (const b of [image.config, ...image.layers])
    await client.pushBlob(repo, b, () => Readable.from([b.bytes]));
  for (const t of tags) await client.putManifest(repo, t, image.manifest.bytes, image.manifest.mediaType);
  return image.manifest.digest;
}

export async function pushContent(reg: TestRegistry, seed = 1): Promise<PushedContent> {
  const client = await clientFor(reg);
  try {
    const a = makeTinyImage(seed * 10 + 1);
    const b = makeTinyImage(seed * 10 + 2, { format: 'docker' });
    const amd = makeTinyImage(seed * 10 + 3, { architecture: 'amd64' });
    const arm = makeTinyImage(seed * 10 + 4, { architecture: 'arm64' });
    const outside = makeTinyImage(seed * 10 + 5);
    const da = await push(
      client,
      reg,
      `${PREFIX}/openshift/release`,
      ['4.18.1-x86_64', '4.18.1-x86_64-cli'],
      a,
    );
    const db = await push(client, reg, `${PREFIX}/openshift/release`, ['4.18.2-x86_64'], b);
    const dOther = await push(client, reg, `${PREFIX}/tools`, ['v1'], a);
    const repo = { registry: reg.host, repository: `${PREFIX}/multi` };
    const children = [amd, arm];
    for (const c of children) await push(client, reg, repo.repository, [], c);
    for (const c of children)
      await client.putManifest(repo, c.manifest.digest, c.manifest.bytes, c.manifest.mediaType);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: children.map((im, i) => ({
          mediaType: im.manifest.mediaType,
          digest: im.manifest.digest,
          size: im.manifest.size,
          platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
        })),
      }),
    );
    const indexDigest = await client.putManifest(repo, 'latest', index, MEDIA_TYPES.ociIndex);
    await push(client, reg, 'elsewhere/app', ['1.0'], outside);
    // A repository with a manifest but no tag: the catalog lists it, tags/list says 404.
    const untagged = makeTinyImage(seed * 10 + 6);
    await push(client, reg, `${PREFIX}/untagged`, [], untagged);
    await client.putManifest(
      { registry: reg.host, repository: `${PREFIX}/untagged` },
      untagged.manifest.digest,
      untagged.manifest.bytes,
      untagged.manifest.mediaType,
    );
    const childDigests = children.map((c) => c.manifest.digest).sort();
    const minimal: PushedContent['minimal'] = {
      'openshift/release': { [da]: ['4.18.1-x86_64', '4.18.1-x86_64-cli'], [db]: ['4.18.2-x86_64'] },
      tools: { [dOther]: ['v1'] },
      multi: { [indexDigest]: ['latest'] },
    };
    const expected: PushedContent['expected'] = {
      ...minimal,
      multi: { [indexDigest]: ['latest'], ...Object.fromEntries(childDigests.map((d) => [d, []])) },
    };
    return { expected, minimal, indexDigest, childDigests };
  } finally {
    await client.close();
  }
}

/** A snapshot document as a plain name → dmap record (order-free comparison). */
export function asRecord(
  doc: { name: string; dmap: Record<string, string[]> }[],
): Record<string, Record<string, string[]>> {
  return Object.fromEntries(doc.map((e) => [e.name, e.dmap]));
}
