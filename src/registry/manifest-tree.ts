import type { Readable } from 'node:stream';
import { BaleError } from '../errors.js';
import type { RegistryClient, Repo } from './client.js';
import type { SourceCandidate } from './mirror-sources.js';
import { parseManifest, type Descriptor } from './manifest.js';

/** A manifest and everything it needs, as pulled from the source registry. */
export interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** Config and layers (image manifests). */
  blobs: Descriptor[];
  /** Child manifests (index / manifest list), each pulled whole. */
  children: ManifestNode[];
}

/** An image to carry: where it comes from, where it goes under v2/, which tags it gets. */
export interface CollectedImage {
  name: string;
  src: Repo;
  /** Repository path under v2/ in the bundle. */
  repository: string;
  tags: string[];
  root: ManifestNode;
  /**
   * Every source of this image when mirrors are configured, `src` first, then the other
   * candidates in order: a blob `src` lacks is read from the next one that has it.
   */
  sources?: SourceCandidate[];
  /**
   * The repository the image is named by (image-references, --image, the set) when it
   * was read from a mirror: what bundle.json records as its source, for mirror configuration.
   */
  origin?: Repo;
}

/** Opens a blob's bytes (pack reads metadata blobs through its staging directory). */
export type BlobOpener = (src: Repo, desc: Descriptor) => Promise<Readable>;

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Pulls a manifest (by tag or digest) and, for an index, every child manifest. */
export async function collectManifest(
  client: RegistryClient,
  src: Repo,
  reference: string,
): Promise<ManifestNode> {
  const m = await client.getManifest(src, reference);
  const parsed = parseManifest(m.bytes, m.mediaType);
  if (parsed.kind === 'index') {
    const children: ManifestNode[] = [];
    for (const child of parsed.manifests) {
      children.push(await collectManifest(client, src, child.digest));
    }
    return { digest: m.digest, mediaType: parsed.mediaType, bytes: m.bytes, blobs: [], children };
  }
  const blobs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers];
  return { digest: m.digest, mediaType: parsed.mediaType, bytes: m.bytes, blobs, children: [] };
}

/** All blob descriptors of a manifest tree, first appearance first, without duplicates. */
export function treeBlobs(
  node: ManifestNode,
  seen = new Set<string>(),
  out: Descriptor[] = [],
): Descriptor[] {
  for (const b of node.blobs) {
    if (!seen.has(b.digest)) {
      seen.add(b.digest);
      out.push(b);
    }
  }
  for (const c of node.children) treeBlobs(c, seen, out);
  return out;
}

/** All manifests of a tree, children before their parent. */
export function treeManifests(node: ManifestNode, out: ManifestNode[] = []): ManifestNode[] {
  for (const c of node.children) treeManifests(c, out);
  out.push(node);
  return out;
}

/** Bytes of a tree: manifests, configs and layers (each digest counted once). */
export function treeSize(node: ManifestNode): number {
  const manifests = new Map(treeManifests(node).map((m) => [m.digest, m.bytes.length]));
  let total = 0;
  for (const size of manifests.values()) total += size;
  for (const b of treeBlobs(node)) total += b.size;
  return total;
}

/** Reads a small blob (an image config) whole, refusing anything large. */
export async function readSmallBlob(
  client: RegistryClient,
  src: Repo,
  desc: Descriptor,
  openBlob?: BlobOpener,
): Promise<Buffer> {
  if (desc.size > MAX_CONFIG_BYTES) {
    throw new BaleError(
      'E_TOO_LARGE',
      `config ${desc.digest} of ${src.registry}/${src.repository} is ${desc.size} bytes`,
      {
        hint: 'An image config is a small JSON document; this image is not usable.',
      },
    );
  }
  const chunks: Buffer[] = [];
  const stream: Readable = openBlob
    ? await openBlob(src, desc)
    : client.openBlob(src, { digest: desc.digest, size: desc.size });
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** For an index, the child manifest for `arch` (else the first); an image manifest is itself. */
export function pickPlatform(node: ManifestNode, arch = 'amd64'): ManifestNode {
  if (node.children.length === 0) return node;
  const parsed = parseManifest(node.bytes, node.mediaType);
  const wanted = parsed.manifests.find((m) => m.platform?.architecture === arch) ?? parsed.manifests[0];
  const child = node.children.find((c) => c.digest === wanted?.digest) ?? node.children[0];
  if (!child) throw new BaleError('E_MANIFEST_INVALID', `manifest list ${node.digest} has no manifests`);
  return child;
}
