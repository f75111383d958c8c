import type { LockOptions } from '../../bundle/lock.js';
import type { IndexSignatureState } from '../../bundle/trust-chain.js';
import type { ApplyResult } from '../../cluster/apply.js';
import type { Progress } from '../../progress.js';
import type { BaseCheck } from './check-base.js';
import type { DirUnpackResult } from './dir-unpack.js';
import type { PushResult } from './registry-push.js';

export interface UnpackOptions {
  bundleDir: string;
  /** `<registry>[/<prefix>]` */
  to?: string;
  toDir?: string;
  /** An incremental bundle with --to-dir: where its base was unpacked (checked, then copied from). */
  baseDir?: string;
  /** Where to write the ConfigMaps and mirror configuration. */
  manifestsToDir: string;
  keyrings?: string[];
  /** PEM Sigstore public keys (`--sigstore-key`); default: the shipped Red Hat key. */
  sigstoreKeys?: string[];
  /** Keyrings for bundle.json.asc only (the packer's signature over the index). */
  indexKeyrings?: string[];
  /** Unpack content no signature anchors (said in the result and the progress). */
  allowUnsigned?: boolean;
  /**
   * Verify the whole bundle before sending anything (two reads of the media). Without
   * it, blobs go to the mirror while the volumes are verified (one read); manifests and
   * tags only once everything verified.
   */
  verifyFirst?: boolean;
  /**
   * Where unpack records its open upload sessions, so that a killed run continues them
   * (the CLI's default: $XDG_STATE_HOME/bale/unpack or ~/.local/state/bale/unpack).
   * Without it, an interrupted upload starts over.
   */
  stateDir?: string;
  registryConfig?: string;
  destTlsVerify?: boolean;
  caFile?: string;
  applyReleaseImageSignature?: boolean;
  applyManifests?: boolean;
  /** Also write an ImageContentSourcePolicy (older clusters). */
  icsp?: boolean;
  overwrite?: boolean;
  dryRun?: boolean;
  kubeconfig?: string;
  concurrency?: number;
  env: Record<string, string | undefined>;
  homeDir: string;
  progress?: Progress;
  signal?: AbortSignal;
  /** Who holds the --to-dir lock (the CLI passes its pid and a liveness check); no lock without it. */
  lockOwner?: LockOptions;
}

export interface UnpackResult {
  ok: boolean;
  dryRun: boolean;
  /** The last release of the bundle (the highest of an update path); every one is in `releases`. */
  release?: { version: string; digest: string; mirror?: string };
  /** Every release of the bundle, in bundle.json order. */
  releases: { version: string; digest: string; mirror?: string }[];
  verify: { ok: boolean; problems: number };
  trust?: { index: IndexSignatureState; unanchored: number; allowUnsigned: boolean };
  /** Each object to apply, where it comes from and what applying it does (listed before applying). */
  applyPlan?: (ApplyResult & { source: string })[];
  push?: PushResult & { retries: number; base?: BaseCheck };
  toDir?: DirUnpackResult & { base?: { copied: number; present: number } };
  manifestsDir?: string;
  manifestFiles: string[];
  applied: ApplyResult[];
  conflicts: number;
  applyErrors: number;
  nextSteps: string[];
  durationMs: number;
}
