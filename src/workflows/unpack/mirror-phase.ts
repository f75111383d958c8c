/**
 * Unpack phase 2, the mirror, once the whole bundle verified: an incremental bundle's base
 * checked (and mounted) there first (nothing pushed if any of it is missing), then the
 * blobs (two passes only), then manifests children first, then tags; and where each
 * release now is in the mirror.
 */
import { releasesOf } from '../../bundle/index-schema.js';
import type { VerifyReport } from '../../bundle/verify-bundle.js';
import type { Progress } from '../../progress.js';
import { checkBaseInRegistry } from './check-base.js';
import type { MirrorTarget } from './mirror-target.js';
import type { UnpackOptions, UnpackResult } from './options.js';
import { destRepository, type Destination } from './registry-push.js';

export async function mirrorPhase(
  o: UnpackOptions,
  mirror: MirrorTarget,
  dest: Destination,
  report: VerifyReport,
  progress: Progress,
): Promise<Pick<UnpackResult, 'push' | 'releases' | 'release'>> {
  const base =
    report.index &&
    (await checkBaseInRegistry({
      index: report.index,
      client: mirror.client,
      dest,
      concurrency: o.concurrency ?? 8,
      dryRun: Boolean(o.dryRun),
      progress,
      ...(o.signal ? { signal: o.signal } : {}),
    }));
  const push = { ...(await mirror.finish(report)), ...(base ? { base } : {}) };
  const releases = releasesOf(report.index ?? { releases: [] }).map((r) => ({
    version: r.version,
    digest: r.digest,
    mirror: `${dest.registry}/${destRepository(dest, r.repository)}@${r.digest}`,
  }));
  const last = releases.at(-1);
  return { push, releases, ...(last ? { release: last } : {}) };
}
