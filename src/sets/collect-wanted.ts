/**
 * M and S for `bale plan` and `bale mirror`: the images `bale pack` would carry for the
 * same flags (--release and its components, --graph-data and its signature image,
 * --image, and what `--config` names), named
 * as pack names them under v2/, with sizes and blobs; and which of them the source
 * really has. A component or a digest-pinned --image the source lacks stays in M (it
 * is reported as missing unless the destination has it). Signatures are not fetched:
 * a plan changes nothing and trusts nothing; pack and mirror verify them.
 */
import { BaleError, isBaleError } from '../errors.js';
import type { ExtraImage } from '../imageset/image-input.js';
import {
  collectManifest,
  pickPlatform,
  readSmallBlob,
  treeBlobs,
  treeManifests,
  treeSize,
  type ManifestNode,
} from '../registry/manifest-tree.js';
import { resolveGraphData } from '../release/graph-data.js';
import type { Progress } from '../progress.js';
import type { RegistryClient, Repo } from '../registry/client.js';
import { parseManifest } from '../registry/manifest.js';
import { parseReference } from '../registry/reference.js';
import { componentTag, releaseArchitecture, releaseTag } from '../release/arch.js';
import { parseRelease } from '../release/parse-release.js';
import { readReleasePayload } from '../release/read-payload.js';
import { ImageSet, type BlobRef, type SetImage } from './inventory.js';

export interface WantedOptions {
  client: RegistryClient;
  release?: string;
  graphData?: string;
  /** Images besides the release, as pack reads them from the flags and `--config`. */
  images?: ExtraImage[];
  noImages?: boolean;
  concurrency?: number;
  progress: Progress;
  signal?: AbortSignal;
}

export interface WantedImages {
  wanted: ImageSet;
  source: ImageSet;
  /** Where each wanted image comes from, `<registry>/<repository>`, by `name@digest`. */
  origins: Map<string, string>;
  release?: { version: string; architecture: string; digest: string };
}

const RELEASE_REPOSITORY = 'openshift/release';
const GRAPH_REPOSITORY = 'openshift/graph-data';

export async function collectWanted(o: WantedOptions): Promise<WantedImages> {
  const out: WantedImages = { wanted: new ImageSet(), source: new ImageSet(), origins: new Map() };
  const add = (src: Repo, image: SetImage, found: boolean): void => {
    out.wanted.add(image);
    if (found) out.source.add(image);
    out.origins.set(`${image.name}@${image.digest}`, `${src.registry}/${src.repository}`);
  };
  if (o.release !== undefined) await collectRelease(o, out, add);
  if (o.noImages) return out;
  if (o.graphData !== undefined) {
    o.progress.phase('graph-data');
    const ref = parseReference(o.graphData);
    const src = { registry: ref.registry, repository: ref.repository };
    const g = await resolveGraphData(o.client, src, ref.digest ?? ref.tag ?? 'latest');
    add(src, fromTree(GRAPH_REPOSITORY, [g.tag], g.root), true);
    if (g.signatureRoot) add(src, fromTree(GRAPH_REPOSITORY, [g.signatureTag], g.signatureRoot), true);
  }
  for (const img of o.images ?? []) {
    o.signal?.throwIfAborted();
    const ref = img.reference;
    const src = { registry: ref.registry, repository: ref.repository };
    const { tags, repository } = img;
    const root = await collectOrMissing(
      o.client,
      src,
      ref.digest ?? ref.tag ?? 'latest',
      ref.digest !== undefined,
    );
    if (root === undefined) add(src, { name: repository, digest: ref.digest ?? '', tags }, false);
    else add(src, fromTree(repository, tags, root), true);
  }
  return out;
}

type Add = (src: Repo, image: SetImage, found: boolean) => void;

async function collectRelease(o: WantedOptions, out: WantedImages, add: Add): Promise<void> {
  o.progress.phase('resolve release');
  const ref = parseReference(o.release ?? '');
  const repo: Repo = { registry: ref.registry, repository: ref.repository };
  const root = await collectManifest(o.client, repo, ref.digest ?? ref.tag ?? 'latest');
  const image = pickPlatform(root);
  const manifest = parseManifest(image.bytes, image.mediaType);
  const lastLayer = manifest.layers.at(-1);
  if (!manifest.config || !lastLayer) {
    throw new BaleError(
      'E_RELEASE_INVALID',
      `${o.release ?? ''} is not a release image: it has no config or no layers`,
      {
        hint: 'Give the release image pullspec (quay.io/openshift-release-dev/ocp-release:<version>-<arch>).',
      },
    );
  }
  const config = await readSmallBlob(o.client, repo, manifest.config);
  const architecture = root.children.length > 0 ? 'multi' : releaseArchitecture({ config });
  const payload = await readReleasePayload(
    o.client.openBlob(repo, { digest: lastLayer.digest, size: lastLayer.size }),
  );
  const info = parseRelease(payload.imageReferences, payload.releaseMetadata, { architecture });
  out.release = { version: info.version, architecture, digest: root.digest };
  if (o.noImages) return;
  add(repo, fromTree(RELEASE_REPOSITORY, [releaseTag(info.version, architecture)], root), true);
  o.progress.phase('manifests', { items: info.components.length });
  const limit = Math.max(1, o.concurrency ?? 8);
  const queue = [...info.components];
  const worker = async (): Promise<void> => {
    for (let comp = queue.shift(); comp !== undefined; comp = queue.shift()) {
      o.signal?.throwIfAborted();
      const src = { registry: comp.image.registry, repository: comp.image.repository };
      const tags = [componentTag(info.version, architecture, comp.name)];
      const node = await collectOrMissing(o.client, src, comp.image.digest, true);
      if (node === undefined) add(src, { name: RELEASE_REPOSITORY, digest: comp.image.digest, tags }, false);
      else add(src, fromTree(RELEASE_REPOSITORY, tags, node), true);
      o.progress.advance(0, 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

/** The manifest tree, or undefined when the source does not have `reference` (only by digest). */
async function collectOrMissing(
  client: RegistryClient,
  src: Repo,
  reference: string,
  byDigest: boolean,
): Promise<ManifestNode | undefined> {
  try {
    return await collectManifest(client, src, reference);
  } catch (err) {
    if (byDigest && isBaleError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** An image-set entry for a manifest tree: bytes as pack counts them, every manifest and blob. */
export function fromTree(name: string, tags: string[], root: ManifestNode): SetImage {
  const blobs: BlobRef[] = treeManifests(root).map((m) => ({ digest: m.digest, size: m.bytes.length }));
  for (const b of treeBlobs(root)) blobs.push({ digest: b.digest, size: b.size });
  return { name, digest: root.digest, tags, bytes: treeSize(root), blobs };
}
