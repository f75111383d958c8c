/**
 * Phases 1–2 for every planned release, in plan order: the release image and payload
 * (resolve-release.ts), then its signatures, each release verified on its own. Releases
 * that turn out to be one image (the same digest named twice) are carried once.
 */
import semver from 'semver';
import { gatherSignatures, type KeptSignature } from '../../signature/gather-signatures.js';
import { payloadVerifier, type PayloadVerifier } from './verifier-config.js';
import type { PackContext } from './context.js';
import type { PlannedRelease } from './plan-releases.js';
import { resolveRelease, type ResolvedRelease } from './resolve-release.js';
import type { PackedRelease } from './types.js';

export interface SignedRelease {
  rel: ResolvedRelease;
  sigs: KeptSignature[];
  /** Where its signatures were looked for, and its payload's verifier keys against the keyring. */
  verifier: PayloadVerifier;
}

export async function resolveReleases(ctx: PackContext, planned: PlannedRelease[]): Promise<SignedRelease[]> {
  const { o, progress } = ctx;
  const out: SignedRelease[] = [];
  for (const p of planned) {
    ctx.signal?.throwIfAborted();
    const rel = await resolveRelease(ctx, p);
    if (out.some((x) => x.rel.root.digest === rel.root.digest)) continue;
    const verifier = await payloadVerifier(ctx, rel); // its payload's stores and keys
    progress.phase('signatures');
    const sigs = await gatherSignatures({
      digest: rel.root.digest,
      stores: verifier.stores,
      keyrings: ctx.keyrings,
      tlsVerify: o.srcTlsVerify ?? true,
      caFile: o.caFile,
      progress,
      what: `release ${rel.info.version}`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    out.push({ rel, sigs, verifier });
  }
  return out;
}

/** The release records of PackResult, and the highest of them (semver; the last when equal). */
export function packedReleases(rels: ResolvedRelease[]): {
  releases: PackedRelease[];
  highest: PackedRelease;
} {
  const releases = rels.map((r) => ({
    version: r.info.version,
    architecture: r.architecture,
    digest: r.root.digest,
    source: r.source,
  }));
  let highest = releases[0]!;
  for (const r of releases.slice(1)) {
    const a = semver.valid(r.version);
    const b = semver.valid(highest.version);
    if (a !== null && b !== null ? semver.gte(a, b) : true) highest = r;
  }
  return { releases, highest };
}
