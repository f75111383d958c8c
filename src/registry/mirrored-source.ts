/**
 * Getting content pinned by digest from the first of its candidate sources
 * (mirror-sources.ts: the mirrors in order, the original last) that has it. The
 * digest never changes: a manifest is re-hashed against the digest asked for, a blob
 * stream is the client's verified stream. A source that fails (not found, refused,
 * unreachable, wrong bytes) is recorded and the next one is tried; when none has the
 * content the error (E_NO_SOURCE) names every source tried and why it failed.
 */
import type { Readable } from 'node:stream';
import { sha256Digest } from '../digest.js';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import type { RegistryClient } from './client.js';
import type { SourceCandidate } from './mirror-sources.js';
import { formatReference } from './reference.js';

export interface SourceAttempt {
  /** The reference tried, with the digest. */
  reference: string;
  kind: SourceCandidate['kind'];
  code: string;
  message: string;
}

export interface MirroredSourceOptions {
  /** The client to use for a candidate (e.g. one without TLS verification for an insecure mirror). */
  client: RegistryClient | ((candidate: SourceCandidate) => RegistryClient);
  /** Whether any mirror configuration was given: the hint names the options when none was. */
  configured: boolean;
  signal?: AbortSignal;
}

export interface FromSource {
  source: SourceCandidate;
  /** The sources that failed before it, in order. */
  attempts: SourceAttempt[];
}

function clientOf(opts: MirroredSourceOptions, c: SourceCandidate): RegistryClient {
  return typeof opts.client === 'function' ? opts.client(c) : opts.client;
}

/** Errors that end the search instead of moving on to the next source. */
export function isFatal(err: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted === true) return true;
  return isBaleError(err, 'E_INTERRUPTED') || isBaleError(err, 'E_IO') || isBaleError(err, 'E_NO_SPACE');
}

/** The record of one failed source, for `noSourceError`. */
export function attemptOf(c: SourceCandidate, digest: string | undefined, err: unknown): SourceAttempt {
  return {
    reference: formatReference(digest === undefined ? c.reference : { ...c.reference, digest }),
    kind: c.kind,
    code: isBaleError(err) ? err.code : 'E_UNEXPECTED',
    message: messageOf(err),
  };
}

/** E_NO_SOURCE for `what` (`manifest`, `blob`, an image name) `ref`: every source tried and why it failed. */
export function noSourceError(
  what: string,
  ref: string,
  attempts: SourceAttempt[],
  configured: boolean,
): BaleError {
  const list = attempts.map((a) => `${a.reference} (${a.kind}: [${a.code}] ${a.message})`).join('; ');
  return new BaleError(
    'E_NO_SOURCE',
    attempts.length === 0
      ? `${what} ${ref} has no source to try: its mirror configuration never contacts the original`
      : `${what} ${ref} is in none of its sources: ${list}`,
    {
      hint: configured
        ? 'Check the mirrors named above (is the content pushed there, are the credentials right?), or fix the mirror configuration.'
        : 'Tell bale where the content lives: --idms-file (ImageDigestMirrorSet), --icsp-file (ImageContentSourcePolicy) or --registries-conf (containers registries.conf mirror tables).',
      details: { digest: ref, attempts },
    },
  );
}

/** The manifest `digest` from the first candidate that serves exactly those bytes. */
export async function getManifestFromSources(
  candidates: readonly SourceCandidate[],
  digest: string,
  opts: MirroredSourceOptions,
): Promise<{ bytes: Buffer; mediaType: string; digest: string } & FromSource> {
  const attempts: SourceAttempt[] = [];
  for (const c of candidates) {
    try {
      const got = await clientOf(opts, c).getManifest(c.reference, digest);
      const actual = sha256Digest(got.bytes);
      if (actual !== digest) {
        throw new BaleError('E_DIGEST_MISMATCH', `served a manifest of digest ${actual}`, {
          details: { expected: digest, actual },
        });
      }
      return { ...got, digest, source: c, attempts };
    } catch (err) {
      if (isFatal(err, opts.signal)) throw err;
      attempts.push(attemptOf(c, digest, err));
    }
  }
  throw noSourceError('manifest', digest, attempts, opts.configured);
}

/**
 * A verified stream of the blob from the first candidate that has it (asked with a
 * HEAD first, so a source without it is skipped before any byte is read). The stream
 * checks size and digest as the client's openBlob does.
 */
export async function openBlobFromSources(
  candidates: readonly SourceCandidate[],
  desc: { digest: string; size?: number },
  opts: MirroredSourceOptions,
): Promise<{ stream: Readable } & FromSource> {
  const attempts: SourceAttempt[] = [];
  for (const c of candidates) {
    try {
      const client = clientOf(opts, c);
      if (!(await client.blobExists(c.reference, desc.digest))) {
        throw new BaleError('E_NOT_FOUND', 'the registry does not have this blob');
      }
      return { stream: client.openBlob(c.reference, desc), source: c, attempts };
    } catch (err) {
      if (isFatal(err, opts.signal)) throw err;
      attempts.push(attemptOf(c, desc.digest, err));
    }
  }
  throw noSourceError('blob', desc.digest, attempts, opts.configured);
}
