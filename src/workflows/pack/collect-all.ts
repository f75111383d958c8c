import pLimit from 'p-limit';
import { BaleError } from '../../errors.js';
import { isBlocked } from '../../imageset/index.js';
import { formatReference, parseReference, type ImageReference } from '../../registry/reference.js';
import { componentTag, releaseTag } from '../../release/arch.js';
import type { CollectedImage } from '../../registry/manifest-tree.js';
import type { PackContext } from './context.js';
import { gatherSignatures, type KeptSignature } from '../../signature/gather-signatures.js';
import { resolveGraphData, type GraphDataSource } from '../../release/graph-data.js';
import type { ResolvedRelease } from './resolve-release.js';
import { collectFromSources } from './sources.js';

export interface CollectedContent {
  images: CollectedImage[];
  graph?: GraphDataSource;
  graphSigs: KeptSignature[];
}

/**
 * Phase 3: the manifests of every image (each release and its components, graph-data,
 * extras). An image several releases share is one image with every release's tags.
 */
export async function collectImages(ctx: PackContext, rels: ResolvedRelease[]): Promise<CollectedContent> {
  const { o } = ctx;
  const out: CollectedContent = { images: [], graphSigs: [] };
  if (o.noImages) return out;
  for (const rel of rels) out.images.push(...(await releaseImages(ctx, rel)));
  out.images = mergeShared(out.images);
  if (o.graphData) {
    ctx.progress.phase('graph-data');
    const gref = parseReference(o.graphData);
    // The mirror that has the graph-data image (or its original) serves both its tags.
    const { src: gsrc } = await collectFromSources(ctx, gref);
    const graph = await resolveGraphData(
      ctx.client,
      gsrc,
      gref.digest ?? gref.tag ?? 'latest',
      ctx.openStaged,
    );
    out.graph = graph;
    out.graphSigs = await gatherSignatures({
      digest: graph.root.digest,
      stores: o.signatureStores ?? [],
      keyrings: ctx.keyrings,
      extra: graph.candidates,
      tlsVerify: o.srcTlsVerify ?? true,
      caFile: o.caFile,
      progress: ctx.progress,
      what: 'graph-data image',
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const repository = 'openshift/graph-data';
    out.images.push({ name: 'graph-data', src: gsrc, repository, tags: [graph.tag], root: graph.root });
    if (graph.signatureRoot) {
      out.images.push({
        name: 'graph-data-signature',
        src: gsrc,
        repository,
        tags: [graph.signatureTag],
        root: graph.signatureRoot,
      });
    }
  }
  for (const img of ctx.input.images) {
    ctx.signal?.throwIfAborted();
    const { src, root, sources, origin } = await collectFromSources(ctx, img.reference);
    out.images.push({
      name: img.name,
      src,
      sources,
      origin,
      repository: img.repository,
      tags: img.tags,
      root,
    });
  }
  return out;
}

/** The release image and its components, their manifests read in parallel. */
async function releaseImages(ctx: PackContext, rel: ResolvedRelease): Promise<CollectedImage[]> {
  const { info, architecture } = rel;
  ctx.progress.phase('manifests', { items: info.components.length + 1 });
  const release: CollectedImage = {
    name: 'release',
    src: rel.repo,
    sources: rel.sources,
    origin: rel.origin,
    repository: 'openshift/release',
    tags: [releaseTag(info.version, architecture)],
    root: rel.root,
  };
  ctx.progress.advance(0, 1);
  const limit = pLimit(ctx.concurrency);
  const components = await Promise.all(
    info.components.map((comp) =>
      limit(async () => {
        ctx.signal?.throwIfAborted();
        refuseBlocked(ctx, comp.name, comp.image);
        const { src, root, sources, origin } = await collectFromSources(ctx, comp.image);
        ctx.progress.advance(0, 1);
        return {
          name: comp.name,
          src,
          sources,
          origin,
          repository: 'openshift/release',
          tags: [componentTag(info.version, architecture, comp.name)],
          root,
        } satisfies CollectedImage;
      }),
    ),
  );
  return [release, ...components];
}

/** One image per repository and root digest, with the tags of every occurrence (first name kept). */
export function mergeShared(images: CollectedImage[]): CollectedImage[] {
  const byKey = new Map<string, CollectedImage>();
  const out: CollectedImage[] = [];
  for (const img of images) {
    const key = `${img.repository}@${img.root.digest}`;
    const seen = byKey.get(key);
    if (seen === undefined) {
      const copy = { ...img, tags: [...img.tags] };
      byKey.set(key, copy);
      out.push(copy);
    } else {
      for (const t of img.tags) if (!seen.tags.includes(t)) seen.tags.push(t);
    }
  }
  return out;
}

/** A release cannot be carried without one of its components: a blocked one is an error. */
function refuseBlocked(ctx: PackContext, name: string, ref: ImageReference): void {
  const { set } = ctx.input;
  const text = formatReference(ref);
  const rule = set && isBlocked(set, text);
  if (rule === undefined) return;
  throw new BaleError(
    'E_CONFIG',
    `${set!.source}: blockedImages ${JSON.stringify(rule.pattern)} matches release component ${name} (${text}): the release cannot be carried without it`,
    {
      hint: 'Narrow the blockedImages expression so that it matches no component of the release.',
      details: { file: set!.source, component: name },
    },
  );
}
