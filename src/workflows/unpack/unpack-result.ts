/** Unpack's result as it stands right after verify: the trust decision and the releases. */
import { releasesOf } from '../../bundle/index-schema.js';
import type { VerifyReport } from '../../bundle/verify-bundle.js';
import type { Progress } from '../../progress.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/** The result after verify; warns when --allow-unsigned let unanchored items through. */
export function initialResult(o: UnpackOptions, report: VerifyReport, progress: Progress): UnpackResult {
  const trust = report.trust;
  if (trust && trust.unanchored > 0) {
    progress.warn(
      `${trust.unanchored} item(s) no signature anchors are unpacked because of --allow-unsigned`,
    );
  }
  const releases = releasesOf(report.index ?? { releases: [] }).map((r) => ({
    version: r.version,
    digest: r.digest,
  }));
  const release = releases.at(-1);
  return {
    ok: true,
    dryRun: Boolean(o.dryRun),
    verify: { ok: true, problems: 0 },
    ...(trust
      ? {
          trust: {
            index: trust.index,
            unanchored: trust.unanchored,
            allowUnsigned: Boolean(o.allowUnsigned),
          },
        }
      : {}),
    ...(release ? { release } : {}),
    releases,
    manifestFiles: [],
    applied: [],
    conflicts: 0,
    applyErrors: 0,
    nextSteps: [],
    durationMs: 0,
  };
}
