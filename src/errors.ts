/**
 * One error type for all of bale. Every failure a user can meet has a stable `code`
 * (documented in the README), a message that says what went wrong and where, and an
 * optional `hint` that says what to do. `details` carries machine-readable context
 * (URL without credentials, HTTP status, volume, entry, digest) for `--json`.
 * The CLI layer (src/cli/) is the one place that maps errors to exit codes.
 */
export type ErrorCode =
  // usage and input
  | 'E_USAGE'
  | 'E_REFERENCE'
  | 'E_CONFIG'
  | 'E_IO'
  | 'E_NO_SPACE'
  | 'E_LOCKED'
  | 'E_INTERRUPTED'
  // image sets, update graphs, mirror configuration
  | 'E_IMAGESET_INVALID'
  | 'E_GRAPH_INVALID'
  | 'E_NO_UPDATE_PATH'
  | 'E_MIRROR_CONFIG_INVALID'
  // registry
  | 'E_AUTH'
  | 'E_DENIED'
  | 'E_NOT_FOUND'
  | 'E_HTTP'
  | 'E_NETWORK'
  | 'E_TLS'
  | 'E_TOO_LARGE'
  | 'E_DIGEST_MISMATCH'
  | 'E_SIZE_MISMATCH'
  | 'E_MANIFEST_INVALID'
  | 'E_RETRIES_EXHAUSTED'
  | 'E_NO_SOURCE'
  // release content
  | 'E_RELEASE_INVALID'
  // signatures
  | 'E_SIGNATURE_INVALID'
  | 'E_SIGNATURE_UNTRUSTED'
  | 'E_SIGNATURE_NONE'
  | 'E_KEYRING'
  // trust: content no signature anchors, or content that contradicts its anchor
  | 'E_UNANCHORED'
  | 'E_TRUST_MISMATCH'
  // bundle
  | 'E_BUNDLE_INVALID'
  | 'E_BUNDLE_CORRUPT'
  | 'E_BUNDLE_HOSTILE'
  | 'E_BUNDLE_INCOMPLETE'
  | 'E_VERIFY_FAILED'
  // image sets
  | 'E_SNAPSHOT_INVALID'
  | 'E_CATALOG_UNAVAILABLE'
  /** An incremental bundle's base is not (all) at the destination. */
  | 'E_BASE_MISSING'
  // cluster
  | 'E_CLUSTER'
  | 'E_APPLY_CONFLICT'
  | 'E_TAG_CONFLICT';

export interface BaleErrorOptions {
  /** What the user can do about it, one sentence. */
  hint?: string;
  cause?: unknown;
  /** Machine-readable context. Never put credentials here. */
  details?: Record<string, unknown>;
}

export class BaleError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BaleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BaleError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.details };
  }
}

export function isBaleError(err: unknown, code?: ErrorCode): err is BaleError {
  return err instanceof BaleError && (code === undefined || err.code === code);
}

/** Message of any thrown value, for wrapping foreign errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
