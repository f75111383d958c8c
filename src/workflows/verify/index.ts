/**
 * `bale verify`: audits a bundle without trusting anything on the media. The phases live
 * in the building block `src/bundle/verify-bundle.ts` (shared with unpack, inspect and
 * pack's read-back); this coordinator turns the user's keyring files into keyrings and
 * runs the audit.
 */
import { loadKeyring } from '../../signature/keyring.js';
import { loadSigstoreKey } from '../../signature/sigstore-key.js';
import { verifyBundle, type VerifyReport } from '../../bundle/verify-bundle.js';
import type { Progress } from '../../progress.js';

export type { VerifyReport } from '../../bundle/verify-bundle.js';

export interface VerifyWorkflowOptions {
  /** Release keyring files; none: bale's Red Hat release key. */
  keyringPaths?: readonly string[];
  /** Keyring files for bundle.json.asc; none: the bundle signature is not checked. */
  indexKeyringPaths?: readonly string[];
  allowUnsigned?: boolean;
  /** PEM Sigstore public keys (`--sigstore-key`); none: the shipped Red Hat key. */
  sigstoreKeyPaths?: readonly string[];
  /** Check only these volumes. */
  volumes?: readonly string[];
  progress?: Progress;
  /** Stops the audit: volume reads end at the next chunk and the call rejects with the reason. */
  signal?: AbortSignal;
}

export async function verify(dir: string, o: VerifyWorkflowOptions = {}): Promise<VerifyReport> {
  const keyrings = await Promise.all((o.keyringPaths ?? []).map((p) => loadKeyring(p)));
  const indexKeyrings = await Promise.all((o.indexKeyringPaths ?? []).map((p) => loadKeyring(p)));
  const sigstoreKeys = await Promise.all((o.sigstoreKeyPaths ?? []).map((p) => loadSigstoreKey(p)));
  const report = await verifyBundle(dir, {
    ...(sigstoreKeys.length ? { sigstoreKeys } : {}),
    keyrings: keyrings.length ? keyrings : undefined,
    indexKeyrings: indexKeyrings.length ? indexKeyrings : undefined,
    allowUnsigned: o.allowUnsigned,
    volumes: o.volumes?.length ? [...o.volumes] : undefined,
    progress: o.progress,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  o.signal?.throwIfAborted();
  return report;
}
