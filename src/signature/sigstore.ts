/**
 * Sigstore (cosign) image signatures, verified offline against public keys.
 *
 * Format (sigstore/cosign specs/SIGNATURE_SPEC.md): the signatures of an image with
 * digest `sha256:<hex>` live in an OCI image manifest, tagged `sha256-<hex>.sig` in the
 * image's repository (or found through the OCI referrers API, artifactType
 * `application/vnd.dev.cosign.artifact.sig.v1+json`). Each layer of that manifest is one
 * signature: its blob is a "simple signing" JSON payload
 * (`application/vnd.dev.cosign.simplesigning.v1+json`) and its annotation
 * `dev.cosignproject.cosign/signature` is the base64 signature over the payload bytes
 * (ECDSA P-256 with SHA-256, ASN.1 DER; or RSA PKCS#1 v1.5 with SHA-256). The payload's
 * `critical.image.docker-manifest-digest` must equal the image's digest.
 *
 * Everything read here may be hostile: sizes are capped, JSON is parsed strictly
 * (duplicate keys refused), and each signature gets a state instead of an exception so
 * one bad layer cannot hide a good one.
 */
import { constants, verify as cryptoVerify } from 'node:crypto';
import { digestHex, isDigest, sha256Digest } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import type { SigstoreKey } from './sigstore-key.js';
import { isJsonObject, parseStrictJson, type JsonValue } from './strict-json.js';

export const SIGSTORE_PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGSTORE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const SIGSTORE_SIGNATURE_TYPE = 'cosign container image signature';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Caps on hostile input. Real `.sig` manifests are about 1 KiB, payloads about 250 bytes. */
export const SIGSTORE_LIMITS = {
  manifestBytes: 256 * 1024,
  layers: 64,
  payloadBytes: 64 * 1024,
  /** Base64 text of one signature (an RSA-8192 signature is 1366 characters). */
  signatureChars: 4096,
} as const;

/** The `.sig` tag for an image digest: `sha256:<hex>` → `sha256-<hex>.sig`. */
export function sigstoreSignatureTag(imageDigest: string): string {
  if (!isDigest(imageDigest)) {
    throw new BaleError('E_REFERENCE', `${JSON.stringify(imageDigest)} is not a sha256 digest`, {
      hint: 'Sigstore signature tags are derived from an image digest (sha256:<64 hex>).',
    });
  }
  return `sha256-${digestHex(imageDigest)}.sig`;
}

/** The image digest a `.sig` tag names, or undefined when `tag` is not one. */
export function imageDigestOfSignatureTag(tag: string): string | undefined {
  const m = /^sha256-([0-9a-f]{64})\.sig$/.exec(tag);
  return m === null ? undefined : `sha256:${m[1] ?? ''}`;
}

export interface SigstoreLayer {
  /** Descriptor of the payload blob. */
  digest: string;
  size: number;
  mediaType: string;
  /** Decoded signature, or why it could not be read. */
  signature: Buffer | { malformed: string };
}

export interface SigstoreManifest {
  mediaType: string;
  config: { digest: string; size: number; mediaType: string };
  layers: SigstoreLayer[];
}

function invalid(what: string, where: string): BaleError {
  return new BaleError('E_SIGNATURE_INVALID', `Sigstore signature manifest${where}: ${what}`, {
    hint: 'This is not a cosign signature artifact, or it was damaged; fetch the signatures again from the source registry.',
    details: { where: where.replace(/^ /, '') },
  });
}

function descriptorOf(
  v: JsonValue | undefined,
  what: string,
  where: string,
): { digest: string; size: number; mediaType: string } {
  if (!isJsonObject(v)) throw invalid(`${what} is not an object`, where);
  const { digest, size, mediaType } = v;
  if (!isDigest(digest)) throw invalid(`${what}.digest is not a sha256 digest`, where);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${what}.size is not a non-negative integer`, where);
  }
  if (typeof mediaType !== 'string' || mediaType.length === 0)
    throw invalid(`${what}.mediaType is missing`, where);
  return { digest, size, mediaType };
}

function decodeSignature(annotations: JsonValue | undefined): SigstoreLayer['signature'] {
  if (annotations === undefined) return { malformed: `no ${SIGSTORE_SIGNATURE_ANNOTATION} annotation` };
  if (!isJsonObject(annotations)) return { malformed: 'annotations is not an object' };
  const text = annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (text === undefined) return { malformed: `no ${SIGSTORE_SIGNATURE_ANNOTATION} annotation` };
  if (typeof text !== 'string') return { malformed: 'the signature annotation is not a string' };
  if (text.length === 0) return { malformed: 'the signature annotation is empty' };
  if (text.length > SIGSTORE_LIMITS.signatureChars) {
    return {
      malformed: `the signature annotation is longer than ${SIGSTORE_LIMITS.signatureChars} characters`,
    };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    return { malformed: 'the signature annotation is not base64' };
  }
  return Buffer.from(text, 'base64');
}

/**
 * Parses a `.sig` manifest strictly: an OCI (or Docker v2) image manifest, 1 to 64
 * simple-signing layers. A layer without a readable signature annotation is kept with
 * a `malformed` reason; a manifest that is not such a manifest at all throws
 * E_SIGNATURE_INVALID. `where` names it in messages (e.g. `repo:sha256-….sig`).
 */
export function parseSigstoreManifest(bytes: Buffer, where = ''): SigstoreManifest {
  const at = where === '' ? '' : ` ${where}`;
  if (bytes.length > SIGSTORE_LIMITS.manifestBytes) {
    throw invalid(`larger than ${SIGSTORE_LIMITS.manifestBytes} bytes`, at);
  }
  let json: JsonValue;
  try {
    json = parseStrictJson(bytes);
  } catch (err) {
    throw invalid(`not valid JSON (${messageOf(err)})`, at);
  }
  if (!isJsonObject(json)) throw invalid('not a JSON object', at);
  if (json.schemaVersion !== 2)
    throw invalid(`schemaVersion is ${JSON.stringify(json.schemaVersion)}, expected 2`, at);
  const mediaType = json.mediaType ?? OCI_MANIFEST;
  if (mediaType !== OCI_MANIFEST && mediaType !== DOCKER_MANIFEST) {
    throw invalid(`media type ${JSON.stringify(mediaType)} is not an image manifest`, at);
  }
  const config = descriptorOf(json.config, 'config', at);
  const layers = json.layers;
  if (!Array.isArray(layers) || layers.length === 0) throw invalid('has no layers', at);
  if (layers.length > SIGSTORE_LIMITS.layers)
    throw invalid(`has more than ${SIGSTORE_LIMITS.layers} layers`, at);
  return {
    mediaType,
    config,
    layers: layers.map((layer, i) => {
      const d = descriptorOf(layer, `layers[${i}]`, at);
      const signature: SigstoreLayer['signature'] =
        d.mediaType !== SIGSTORE_PAYLOAD_MEDIA_TYPE
          ? { malformed: `layer media type ${d.mediaType} is not ${SIGSTORE_PAYLOAD_MEDIA_TYPE}` }
          : d.size > SIGSTORE_LIMITS.payloadBytes
            ? { malformed: `payload is larger than ${SIGSTORE_LIMITS.payloadBytes} bytes` }
            : decodeSignature(isJsonObject(layer) ? layer.annotations : undefined);
      return { ...d, signature };
    }),
  };
}

export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: informational for cosign (the spec says it is ignored). */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`. */
  manifestDigest: string;
  /** `optional`, as given (may be null). */
  optional: JsonValue;
}

function exactKeys(obj: { [key: string]: JsonValue }, keys: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw new Error(`unknown field ${where}.${k}`);
  for (const k of keys) if (!(k in obj)) throw new Error(`missing ${where}.${k}`);
}

/**
 * Parses a simple-signing payload the way containers/image does for sigstore
 * signatures: strict JSON, `critical` with exactly `identity`, `image` and `type`, each
 * with exactly their one field, `type` equal to "cosign container image signature";
 * `optional` may be absent, null or an object. Throws a plain Error saying what is wrong.
 */
export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload {
  if (bytes.length > SIGSTORE_LIMITS.payloadBytes)
    throw new Error(`larger than ${SIGSTORE_LIMITS.payloadBytes} bytes`);
  const json = parseStrictJson(bytes);
  if (!isJsonObject(json)) throw new Error('not a JSON object');
  for (const k of Object.keys(json))
    if (k !== 'critical' && k !== 'optional') throw new Error(`unknown field ${k}`);
  const critical = json.critical;
  if (!isJsonObject(critical)) throw new Error('critical is missing or not an object');
  exactKeys(critical, ['identity', 'image', 'type'], 'critical');
  if (critical.type !== SIGSTORE_SIGNATURE_TYPE) {
    throw new Error(
      `critical.type is ${JSON.stringify(critical.type)}, expected "${SIGSTORE_SIGNATURE_TYPE}"`,
    );
  }
  const { identity, image } = critical;
  if (!isJsonObject(identity)) throw new Error('critical.identity is not an object');
  exactKeys(identity, ['docker-reference'], 'critical.identity');
  if (!isJsonObject(image)) throw new Error('critical.image is not an object');
  exactKeys(image, ['docker-manifest-digest'], 'critical.image');
  const ref = identity['docker-reference'];
  const digest = image['docker-manifest-digest'];
  if (typeof ref !== 'string') throw new Error('critical.identity.docker-reference is not a string');
  if (!isDigest(digest)) throw new Error('critical.image.docker-manifest-digest is not a sha256 digest');
  const optional = json.optional ?? null;
  if (optional !== null && !isJsonObject(optional)) throw new Error('optional is neither null nor an object');
  return { dockerReference: ref, manifestDigest: digest, optional };
}

export type SigstoreState = 'valid' | 'wrong-key' | 'wrong-digest' | 'malformed';

export interface SigstoreCheck {
  /** The payload layer's digest: names the signature within its manifest. */
  layerDigest: string;
  state: SigstoreState;
  /** What went wrong, for every state but `valid`. */
  reason?: string;
  /** Fingerprint and file of the key that verified the signature (valid, wrong-digest). */
  keyFingerprint?: string;
  keySource?: string;
  /** From the payload, once it parsed. */
  dockerReference?: string;
  signedDigest?: string;
}

function verifyWith(key: SigstoreKey, payload: Buffer, signature: Buffer): boolean {
  try {
    if (key.algorithm === 'rsa') {
      return cryptoVerify(
        'sha256',
        payload,
        { key: key.key, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
    }
    return cryptoVerify('sha256', payload, { key: key.key, dsaEncoding: 'der' }, signature);
  } catch {
    // A signature that is not even well-formed DER for this key type does not verify.
    return false;
  }
}

/** Checks one signature layer; `payload` is the layer blob's bytes (undefined when it was not available). */
export function checkSigstoreLayer(
  layer: SigstoreLayer,
  payload: Buffer | undefined,
  keys: readonly SigstoreKey[],
  imageDigest: string,
): SigstoreCheck {
  const out: SigstoreCheck = { layerDigest: layer.digest, state: 'malformed' };
  if (!Buffer.isBuffer(layer.signature)) return { ...out, reason: layer.signature.malformed };
  if (payload === undefined) return { ...out, reason: `payload blob ${layer.digest} is missing` };
  if (payload.length !== layer.size || sha256Digest(payload) !== layer.digest) {
    return { ...out, reason: `payload bytes do not match the layer descriptor ${layer.digest}` };
  }
  let parsed: SimpleSigningPayload;
  try {
    parsed = parseSimpleSigningPayload(payload);
  } catch (err) {
    return { ...out, reason: `payload is not a cosign simple-signing payload: ${messageOf(err)}` };
  }
  out.dockerReference = parsed.dockerReference;
  out.signedDigest = parsed.manifestDigest;
  const signer = keys.find((k) => verifyWith(k, payload, layer.signature as Buffer));
  if (signer === undefined) {
    return {
      ...out,
      state: 'wrong-key',
      reason: `the signature does not verify with ${keys.length === 1 ? 'the given key' : `any of the ${keys.length} given keys`} (signed by another key, or the payload was altered)`,
    };
  }
  out.keyFingerprint = signer.fingerprint;
  out.keySource = signer.source;
  if (parsed.manifestDigest !== imageDigest) {
    return {
      ...out,
      state: 'wrong-digest',
      reason: `the signature is for ${parsed.manifestDigest}, not for the image ${imageDigest}`,
    };
  }
  return { ...out, state: 'valid' };
}

/**
 * Verifies every signature in a `.sig` manifest against `keys` for the image
 * `imageDigest`. `payloads` gives each layer blob's bytes by digest (read them capped at
 * SIGSTORE_LIMITS.payloadBytes). One result per layer, in manifest order. A manifest that
 * does not parse throws E_SIGNATURE_INVALID; no keys is a usage error (E_KEYRING).
 */
export function verifySigstoreSignatures(opts: {
  manifest: Buffer;
  payloads: ReadonlyMap<string, Buffer>;
  keys: readonly SigstoreKey[];
  imageDigest: string;
  where?: string;
}): SigstoreCheck[] {
  if (opts.keys.length === 0) {
    throw new BaleError('E_KEYRING', 'no Sigstore public key to verify signatures with', {
      hint: 'Pass a PEM public key with --sigstore-key.',
    });
  }
  if (!isDigest(opts.imageDigest)) {
    throw new BaleError('E_REFERENCE', `${JSON.stringify(opts.imageDigest)} is not a sha256 digest`, {
      hint: 'Signatures are checked against the image digest (sha256:<64 hex>).',
    });
  }
  const manifest = parseSigstoreManifest(opts.manifest, opts.where);
  return manifest.layers.map((layer) =>
    checkSigstoreLayer(layer, opts.payloads.get(layer.digest), opts.keys, opts.imageDigest),
  );
}

/** True when at least one signature is valid. */
export function anySigstoreValid(checks: readonly SigstoreCheck[]): boolean {
  return checks.some((c) => c.state === 'valid');
}
