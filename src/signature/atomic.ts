/**
 * The "atomic container signature" JSON (simple signing) that a release signature
 * signs (formats.md §3), read the way containers/image reads it
 * (signature/signature.go, strictUnmarshalJSON):
 * - the top level has exactly `critical` and `optional`, no other keys;
 * - `critical` has exactly `type`, `image`, `identity`; `image` exactly
 *   `docker-manifest-digest`; `identity` exactly `docker-reference`;
 * - `type` is exactly "atomic container signature", the digest a sha256 digest, the
 *   reference a non-empty string;
 * - `optional` is free-form (an object, or null): unknown keys are ignored, but
 *   `creator` must be a string and `timestamp` an integer when present;
 * - duplicate keys anywhere make the document invalid.
 */
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';
import { isJsonObject, parseStrictJson, type JsonValue } from './strict-json.js';

export const ATOMIC_SIGNATURE_TYPE = 'atomic container signature';

export interface AtomicSignature {
  type: string;
  digest: string;
  identity: string;
  creator?: string;
  timestamp?: number;
}

function invalid(reason: string, cause?: unknown): BaleError {
  return new BaleError(
    'E_SIGNATURE_INVALID',
    `signed content is not a valid atomic container signature: ${reason}`,
    {
      hint: 'The signature does not sign a release image in the format the cluster accepts; use a signature from the official store.',
      cause,
    },
  );
}

function exactObject(
  value: JsonValue | undefined,
  where: string,
  keys: readonly string[],
): Record<string, JsonValue> {
  if (!isJsonObject(value)) throw invalid(`${where} is not an object`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalid(`unknown field ${JSON.stringify(key)} in ${where}`);
  }
  for (const key of keys) {
    if (!(key in value)) throw invalid(`${where} has no ${JSON.stringify(key)}`);
  }
  return value;
}

export function parseAtomicSignature(json: Uint8Array): AtomicSignature {
  let doc: JsonValue;
  try {
    doc = parseStrictJson(json);
  } catch (err) {
    throw invalid(`not valid JSON (${(err as Error).message})`, err);
  }
  const top = exactObject(doc, 'the document', ['critical', 'optional']);
  const critical = exactObject(top.critical, 'critical', ['type', 'image', 'identity']);
  if (critical.type !== ATOMIC_SIGNATURE_TYPE) {
    throw invalid(
      `critical.type is ${JSON.stringify(critical.type)}, expected ${JSON.stringify(ATOMIC_SIGNATURE_TYPE)}`,
    );
  }
  const image = exactObject(critical.image, 'critical.image', ['docker-manifest-digest']);
  const digest = image['docker-manifest-digest'];
  if (!isDigest(digest)) {
    throw invalid(`critical.image.docker-manifest-digest ${JSON.stringify(digest)} is not a sha256 digest`);
  }
  const identityObject = exactObject(critical.identity, 'critical.identity', ['docker-reference']);
  const identity = identityObject['docker-reference'];
  if (typeof identity !== 'string' || identity === '') {
    throw invalid('critical.identity.docker-reference is not a non-empty string');
  }
  const result: AtomicSignature = { type: ATOMIC_SIGNATURE_TYPE, digest, identity };
  const optional = top.optional;
  if (optional !== null) {
    if (!isJsonObject(optional)) throw invalid('optional is not an object');
    if ('creator' in optional) {
      if (typeof optional.creator !== 'string') throw invalid('optional.creator is not a string');
      result.creator = optional.creator;
    }
    if ('timestamp' in optional) {
      const ts = optional.timestamp;
      if (typeof ts !== 'number' || !Number.isSafeInteger(ts))
        throw invalid('optional.timestamp is not an integer');
      result.timestamp = ts;
    }
  }
  return result;
}

/** The JSON bale signs: the same field order and layout as containers/image writes. */
export function atomicSignatureJson(sig: {
  digest: string;
  identity: string;
  creator?: string;
  timestamp?: number;
}): Buffer {
  const optional: Record<string, string | number> = {};
  if (sig.creator !== undefined) optional.creator = sig.creator;
  if (sig.timestamp !== undefined) optional.timestamp = sig.timestamp;
  return Buffer.from(
    JSON.stringify({
      critical: {
        type: ATOMIC_SIGNATURE_TYPE,
        image: { 'docker-manifest-digest': sig.digest },
        identity: { 'docker-reference': sig.identity },
      },
      optional,
    }),
  );
}
