import { isDigest } from '../digest.js';
import { isBaleError } from '../errors.js';
import { parseReference, type ImageReference } from '../registry/reference.js';

/** An image reference pinned by digest, as a release names its components. */
export type PinnedReference = ImageReference & { digest: string };

/**
 * Parses `[registry/]repository[:tag]@sha256:<hex>` with the registry's reference
 * grammar; undefined unless it is valid and pinned by a canonical sha256 digest.
 */
export function parsePinnedReference(input: string): PinnedReference | undefined {
  let ref: ImageReference;
  try {
    ref = parseReference(input);
  } catch (err) {
    if (isBaleError(err, 'E_REFERENCE')) return undefined;
    throw err;
  }
  const { digest } = ref;
  if (!isDigest(digest)) return undefined;
  return { ...ref, digest };
}
