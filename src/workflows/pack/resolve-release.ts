import { BaleError } from '../../errors.js';
import type { Repo } from '../../registry/client.js';
import { parseManifest } from '../../registry/manifest.js';
import { formatReference, parseReference } from '../../registry/reference.js';
import { releaseArchitecture } from '../../release/arch.js';
import { parseRelease, type ReleaseInfo } from '../../release/parse-release.js';
import { readReleasePayload } from '../../release/read-payload.js';
import { pickPlatform, readSmallBlob, type ManifestNode } from '../../registry/manifest-tree.js';
import type { PackContext } from './context.js';
import { collectFromSources } from './sources.js';
import { checkArchitecture } from './input.js';
import type { SourceCandidate } from '../../registry/mirror-sources.js';
import type { PlannedRelease } from './plan-releases.js';

export interface ResolvedRelease {
  repo: Repo;
  root: ManifestNode;
  architecture: string;
  info: ReleaseInfo;
  /** `registry/repository` the release was read from. */
  source: string;
  /** Every source of the release image, the one read first (blob fallback). */
  sources: SourceCandidate[];
  /** The repository the pullspec names. */
  origin: Repo;
}

/** Phase 1 (once per release): the release image, its payload (version, components) and architecture. */
export async function resolveRelease(ctx: PackContext, planned: PlannedRelease): Promise<ResolvedRelease> {
  const { client, openStaged } = ctx;
  const release = planned.pullspec;
  ctx.progress.phase('resolve release');
  // The pullspec may name a host the mirror rules send elsewhere: the winning source is read from.
  const {
    src: repo,
    root,
    source: from,
    sources,
    origin,
  } = await collectFromSources(ctx, parseReference(release));
  if (from.kind === 'mirror')
    ctx.progress.info(`release ${release} read from mirror ${formatReference(from.reference)}`);
  const image = pickPlatform(root);
  const manifest = parseManifest(image.bytes, image.mediaType);
  const lastLayer = manifest.layers.at(-1);
  if (!manifest.config || !lastLayer) {
    throw new BaleError(
      'E_RELEASE_INVALID',
      `${release} is not a release image: it has no config or no layers`,
    );
  }
  const configBytes = await readSmallBlob(client, repo, manifest.config, openStaged);
  const architecture = root.children.length > 0 ? 'multi' : releaseArchitecture({ config: configBytes });
  const payload = await readReleasePayload(await openStaged(repo, lastLayer));
  const info = parseRelease(payload.imageReferences, payload.releaseMetadata, { architecture });
  checkArchitecture(ctx.input, architecture, `release ${info.version} (${release})`);
  if (planned.version !== undefined && planned.version !== info.version) {
    throw new BaleError(
      'E_RELEASE_INVALID',
      `the update graph says ${release} is ${planned.version}, but its payload says ${info.version}`,
      { hint: 'The update graph does not match the release images: check --graph-url / --graph-file.' },
    );
  }
  const source = `${repo.registry}/${repo.repository}`;
  ctx.progress.info(
    `release ${info.version} (${architecture}) ${root.digest}, ${info.components.length} components`,
  );
  return { repo, root, architecture, info, source, sources, origin };
}
