import type { ErrorCode } from '../errors.js';

/**
 * One thing wrong with a bundle, as verify reports it: a stable code, where it is
 * (bundle file, volume, entry path, digest) and a sentence saying what is wrong.
 */
export interface Problem {
  code: ErrorCode;
  /** A file of the bundle directory (`bundle.json`, `SHA256SUMS`, a stray file). */
  file?: string;
  volume?: string;
  entry?: string;
  digest?: string;
  message: string;
}
