import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BaleError } from './errors.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True for a canonical `sha256:<64 lowercase hex>` digest (the only algorithm bale accepts). */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Throws E_REFERENCE unless `value` is a canonical sha256 digest. */
export function assertDigest(value: unknown, what = 'digest'): asserts value is string {
  if (!isDigest(value)) {
    throw new BaleError('E_REFERENCE', `${what} ${JSON.stringify(value)} is not a sha256 digest`, {
      hint: 'A digest looks like sha256: followed by 64 lowercase hex characters.',
    });
  }
}

/** The 64 hex characters of a digest. */
export function digestHex(digest: string): string {
  assertDigest(digest);
  return digest.slice('sha256:'.length);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/**
 * A pass-through stream that hashes and counts what flows through it. When `expect`
 * is given, it fails the stream at the end if the size or digest differ (and fails
 * early, without reading further, when more bytes arrive than the expected size).
 */
export class HashingStream extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private readonly expect: { digest?: string; size?: number; what: string } | undefined;

  constructor(expect?: { digest?: string; size?: number; what: string }) {
    super();
    this.expect = expect;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const size = this.expect?.size;
    if (size !== undefined && this.bytes > size) {
      callback(
        new BaleError('E_SIZE_MISMATCH', `${this.expect?.what}: more than the expected ${size} bytes`, {
          details: { expectedSize: size },
        }),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const e = this.expect;
    if (e?.size !== undefined && this.bytes !== e.size) {
      callback(
        new BaleError('E_SIZE_MISMATCH', `${e.what}: got ${this.bytes} bytes, expected ${e.size}`, {
          details: { expectedSize: e.size, actualSize: this.bytes },
        }),
      );
      return;
    }
    this.finalDigest = `sha256:${this.hash.digest('hex')}`;
    if (e?.digest !== undefined && this.finalDigest !== e.digest) {
      callback(
        new BaleError(
          'E_DIGEST_MISMATCH',
          `${e.what}: content is ${this.finalDigest}, expected ${e.digest}`,
          {
            details: { expectedDigest: e.digest, actualDigest: this.finalDigest },
          },
        ),
      );
      return;
    }
    callback();
  }

  /** Set once the stream has ended. */
  finalDigest: string | undefined;
}
