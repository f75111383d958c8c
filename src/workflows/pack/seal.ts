import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../bundle/atomic-write.js';
import { serializeIndex, writeIndex } from '../../bundle/bundle-index.js';
import { BUNDLE_SCHEMA, type BundleImage, type BundleIndex } from '../../bundle/index-schema.js';
import { assembleEntries } from '../../bundle/plan.js';
import { writeSha256Sums } from '../../bundle/sha256sums.js';
import type { WrittenVolume } from '../../bundle/volume-writer.js';
import { BaleError } from '../../errors.js';
import { releaseTag } from '../../release/arch.js';
import { signDetached } from '../../signature/sign.js';
import { BALE_VERSION } from '../../version.js';
import { treeSize, type CollectedImage } from '../../registry/manifest-tree.js';
import type { CollectedContent } from './collect-all.js';
import type { PackContext } from './context.js';
import type { BundlePlan } from './plan-bundle.js';
import type { PlannedGraph } from './plan-releases.js';
import type { ResolvedRelease } from './resolve-release.js';
import type { SignatureFiles } from './signature-files.js';

/** Phase 8a: bundle.json's content, from the plan and the volumes as written. */
export function buildIndex(
  ctx: PackContext,
  parts: {
    rels: ResolvedRelease[];
    graphs: PlannedGraph[];
    content: CollectedContent;
    sigs: SignatureFiles;
    bp: BundlePlan;
  },
  written: WrittenVolume[],
): BundleIndex {
  const { rels, graphs, content, sigs, bp } = parts;
  const index: BundleIndex = {
    schema: BUNDLE_SCHEMA,
    baleVersion: BALE_VERSION,
    created: (ctx.o.now?.() ?? new Date()).toISOString(),
    volumeSize: bp.volumeSize,
    // `releases` say where each release image is under v2/ (verify requires it, unpack mirrors
    // it): a --no-images bundle carries only its signatures, which name its digest and identity.
    releases: ctx.o.noImages
      ? []
      : rels.map((rel) => ({
          version: rel.info.version,
          architecture: rel.architecture,
          digest: rel.root.digest,
          source: rel.source,
          repository: 'openshift/release',
          tag: releaseTag(rel.info.version, rel.architecture),
        })),
    graphs: graphs.map((g) => ({
      path: g.path,
      channel: g.channel,
      arch: g.arch,
      source: g.source,
      sha256: g.sha256,
      releases: [...g.releases],
    })),
    images: content.images.map(bundleImage),
    signatures: sigs.release,
    manifests: [...sigs.configMapPaths],
    volumes: written.map((w) => ({
      name: w.name,
      size: w.size,
      sha256: w.sha256,
      entries: w.entries.length,
    })),
    entries: assembleEntries(bp.plan, written),
  };
  const graph = content.graph;
  if (graph) {
    index.graphData = {
      revision: graph.revision,
      digest: graph.root.digest,
      source: `${graph.src.registry}/${graph.src.repository}`,
      repository: 'openshift/graph-data',
      tag: graph.tag,
      signatures: sigs.graphData,
    };
    if (graph.signatureRoot) {
      index.graphData.signatureTag = graph.signatureTag;
      index.graphData.signatureDigest = graph.signatureRoot.digest;
    }
  }
  return index;
}

/** Phase 8b: with --sign-key, the detached signature of the index (bundle.json.asc); returns it. */
export async function signIndex(ctx: PackContext, index: BundleIndex): Promise<string | undefined> {
  const { signKey } = ctx.o;
  if (!signKey) return undefined;
  const key = await readFile(signKey, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new BaleError('E_KEYRING', `cannot read --sign-key ${signKey}: ${err.code ?? err.message}`, {
      hint: 'Pass an armored OpenPGP private key file.',
    });
  });
  const signature = await signDetached(Buffer.from(serializeIndex(index)), key);
  await writeFileAtomic(join(ctx.to, 'bundle.json.asc'), signature);
  return signature;
}

/**
 * Phase 8c: bundle.json, then SHA256SUMS. Order matters for a crash: SHA256SUMS is
 * written last (and .bale/ is removed after it).
 */
export async function writeIndexAndSums(to: string, index: BundleIndex): Promise<void> {
  const indexSum = await writeIndex(to, index);
  await writeSha256Sums(to, [
    { name: 'bundle.json', sha256: indexSum.sha256 },
    ...index.volumes.map((v) => ({ name: v.name, sha256: v.sha256 })),
  ]);
}

function bundleImage(img: CollectedImage): BundleImage {
  const out: BundleImage = {
    name: img.name,
    // The name the image is known by (image-references): mirror configuration maps it.
    source: `${(img.origin ?? img.src).registry}/${(img.origin ?? img.src).repository}`,
    repository: img.repository,
    digest: img.root.digest,
    mediaType: img.root.mediaType,
    size: treeSize(img.root),
    tags: img.tags,
  };
  if (img.root.children.length > 0) out.children = img.root.children.map((c) => c.digest);
  return out;
}
