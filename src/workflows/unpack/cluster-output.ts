/**
 * The files unpack writes to --manifests-to-dir: the cluster files verify checked (their
 * verified bytes) and the mirror configuration bale generates for the destination.
 */
import type { BundleIndex } from '../../bundle/index-schema.js';
import type { KubeObject } from '../../cluster/kube-object.js';
import { generatedObjects, type MirroredRepository } from '../../cluster/generated-objects.js';
import { destRepository, type Destination } from './registry-push.js';
import { releasesOf } from '../../bundle/index-schema.js';
import {
  MIRROR_DESTINATION_PLACEHOLDER,
  ocAdmUpgradeCommand,
  ocImageMirrorCommand,
} from '../../cluster/oc-commands.js';
import { shellJoin } from '../../cluster/shell-quote.js';

export interface OutputFile {
  /** File name written in --manifests-to-dir. */
  file: string;
  /** Entry path in the bundle, or the generated file's name. */
  source: string;
  text: string;
  objects: KubeObject[];
  verifiedSignatures: boolean;
  generated: boolean;
}

/**
 * The mirror configuration and cluster objects bale generates for the destination
 * (src/cluster/generated-objects.ts): the IDMS for every carried repository, an ITMS
 * for content carried by tag (images that are not part of a release, graph-data or a
 * Sigstore artifact, and have tags), the ICSP on request, and an UpdateService when
 * the bundle carries graph-data and a release.
 */
export function generatedMirrorConfig(index: BundleIndex, dest: Destination, icsp: boolean): OutputFile[] {
  const mirrorOf = (repository: string): string => `${dest.registry}/${destRepository(dest, repository)}`;
  const releaseRepos = new Set(releasesOf(index).map((r) => r.repository));
  const sigs = new Set((index.sigstore ?? []).map((s) => `${s.repository}@${s.digest}`));
  const repositories: MirroredRepository[] = index.images.map((img) => ({
    source: img.source,
    mirror: mirrorOf(img.repository),
    byTag:
      img.tags.length > 0 &&
      !releaseRepos.has(img.repository) &&
      img.repository !== index.graphData?.repository &&
      !sigs.has(`${img.repository}@${img.digest}`),
  }));
  const rel = releasesOf(index)[0];
  const g = index.graphData;
  const files = generatedObjects({
    repositories,
    icsp,
    ...(rel && g
      ? {
          updateService: {
            releases: mirrorOf(rel.repository),
            graphDataImage: `${mirrorOf(g.repository)}@${g.digest}`,
          },
        }
      : {}),
  });
  return files.map((f) => ({
    file: f.file,
    source: f.file,
    text: f.text,
    objects: f.objects,
    verifiedSignatures: false,
    generated: true,
  }));
}

/**
 * The commands unpack prints for the operator, all from src/cluster/oc-commands.ts
 * (shell-quoted, `--keep-manifest-list=true` so every manifest list and child arrives):
 * from a `--to-dir`, one `oc image mirror` per tag pattern (the release, then the
 * Sigstore `.sig` artifacts when the bundle carries any); `oc apply` of the manifests
 * unless they were applied; the upgrade to the mirrored release by digest.
 */
export function unpackNextSteps(opts: {
  index: BundleIndex;
  toDir?: string;
  dest?: Destination;
  /** Every mirrored release, in order (`<registry>/<repository>@<digest>`). */
  mirroredReleases: string[];
  manifestsDir?: string;
  applied: boolean;
}): string[] {
  const out: string[] = [];
  const releases = releasesOf(opts.index);
  const rel = releases[0];
  if (opts.toDir !== undefined && rel !== undefined) {
    const destination =
      opts.dest !== undefined
        ? `${opts.dest.registry}/${destRepository(opts.dest, rel.repository)}`
        : MIRROR_DESTINATION_PLACEHOLDER;
    for (const r of releases) {
      out.push(
        ocImageMirrorCommand({
          fromDir: opts.toDir,
          repository: r.repository,
          tagPattern: `${r.version}*`,
          destination,
        }),
      );
    }
    if ((opts.index.sigstore ?? []).some((s) => s.repository === rel.repository)) {
      out.push(
        ocImageMirrorCommand({
          fromDir: opts.toDir,
          repository: rel.repository,
          tagPattern: 'sha256-*',
          destination,
        }),
      );
    }
  }
  if (opts.mirroredReleases.length > 0) {
    if (!opts.applied && opts.manifestsDir !== undefined) {
      out.push(shellJoin(['oc', 'apply', '-f', opts.manifestsDir]));
    }
    for (const image of opts.mirroredReleases) out.push(ocAdmUpgradeCommand({ image }));
  }
  return out;
}
