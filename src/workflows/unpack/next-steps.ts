import type { BundleIndex } from '../../bundle/index-schema.js';
import { parseRegistryTarget } from '../../registry/registry-target.js';
import { unpackNextSteps } from './cluster-output.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/**
 * What to do next: every command comes from src/cluster/oc-commands.ts (shell-quoted,
 * `--keep-manifest-list=true`, the `.sig` tags too), see cluster-output.ts. An update
 * path is mirrored and taken one release at a time, in order.
 */
export function nextSteps(o: UnpackOptions, result: UnpackResult, index: BundleIndex | undefined): string[] {
  if (index === undefined) return [];
  return unpackNextSteps({
    index,
    ...(result.toDir ? { toDir: result.toDir.dir } : {}),
    ...(o.to !== undefined ? { dest: parseRegistryTarget(o.to, '--to') } : {}),
    mirroredReleases: result.releases.flatMap((r) => (r.mirror === undefined ? [] : [r.mirror])),
    manifestsDir: result.manifestsDir ?? o.manifestsToDir,
    applied: Boolean(o.applyManifests) || Boolean(o.dryRun),
  });
}
