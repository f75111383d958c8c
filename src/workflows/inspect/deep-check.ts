/**
 * `bale inspect --deep`, phase 2: the full verification merged into the report (each
 * signature's check, configmap and index signatures, sigstore states, the trust report).
 */
import type { VerifyReport } from '../../bundle/verify-bundle.js';
import type { InspectReport } from './report.js';

/** Adds what the verification `v` found to `report` (in place). */
export function addVerification(report: InspectReport, v: VerifyReport): void {
  report.verification = { ok: v.ok, problems: v.problems, ...(v.trust ? { trust: v.trust } : {}) };
  if (v.sigstore !== undefined) {
    report.sigstore = v.sigstore.map((x) => ({
      repository: x.repository,
      tag: x.tag,
      digest: x.digest,
      signs: x.signs,
      recorded: x.recorded,
      state: x.state,
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      ...(x.keyFingerprint !== undefined ? { keyFingerprint: x.keyFingerprint } : {}),
    }));
  }
  const byPath = new Map(v.signatures.map((s) => [s.path, s]));
  for (const s of report.signatures) {
    const check = byPath.get(s.path);
    s.verified = check?.ok ?? false;
    if (check?.reason !== undefined) s.reason = check.reason;
    if (check?.userId !== undefined) s.userId = check.userId;
  }
  for (const s of v.signatures) {
    if (s.kind === 'configmap' || s.kind === 'index') {
      const row: InspectReport['signatures'][number] = { path: s.path, kind: s.kind, verified: s.ok };
      if (s.expectedDigest !== undefined) row.digest = s.expectedDigest;
      if (s.keyId !== undefined) row.keyId = s.keyId;
      if (s.userId !== undefined) row.userId = s.userId;
      if (s.identity !== undefined) row.identity = s.identity;
      if (s.reason !== undefined) row.reason = s.reason;
      report.signatures.push(row);
    }
  }
}
