/**
 * `bale inspect`: what a bundle holds, from bundle.json as `openBundle` reads it (checked
 * against SHA256SUMS, nothing else read), or with `deep` after a full verify (signatures
 * checked against the keyrings, problems listed). Renderers live in src/cli/inspect-render.ts.
 */
import { openBundle } from '../../bundle/open-bundle.js';
import { verifyBundle } from '../../bundle/verify-bundle.js';
import type { Progress } from '../../progress.js';
import type { Keyring } from '../../signature/index.js';
import type { SigstoreKey } from '../../signature/sigstore-key.js';
import { addVerification } from './deep-check.js';
import { summaryOf, type InspectReport } from './report.js';

export type { InspectReport, InspectRelease, InspectSigstore } from './report.js';

export interface InspectOptions {
  deep?: boolean;
  keyrings?: Keyring[];
  /** Sigstore public keys for --deep; default: the shipped Red Hat key. */
  sigstoreKeys?: SigstoreKey[];
  progress?: Progress;
  /** Stops the deep verification's volume reads (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

export async function inspectBundle(dir: string, opts: InspectOptions = {}): Promise<InspectReport> {
  const bundle = await openBundle(dir);
  const report = summaryOf(dir, bundle.index);
  if (opts.deep) {
    const v = await verifyBundle(dir, {
      ...(opts.keyrings ? { keyrings: opts.keyrings } : {}),
      ...(opts.sigstoreKeys ? { sigstoreKeys: opts.sigstoreKeys } : {}),
      ...(opts.progress ? { progress: opts.progress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    opts.signal?.throwIfAborted();
    addVerification(report, v);
  }
  return report;
}
