/**
 * Offline checks of the Sigstore (cosign) signature artifacts a bundle carries
 * (bundle.json `sigstore`, src/bundle/sigstore-index.ts), against the Sigstore public
 * keys (--sigstore-key, default the shipped Red Hat key).
 *
 * Per artifact: its `.sig` manifest and payload blobs as verify read them (never what
 * pack recorded), each signature over its payload with the keys, and the payload's
 * `docker-manifest-digest` against the digest the artifact's tag names. The states:
 * - valid: a key verifies a signature for that digest; the artifact is then anchored
 *   in trust-chain.ts only if the image it signs (same repository) is anchored;
 * - wrong-digest: a key verifies it, but it signs another image: a contradiction
 *   (E_TRUST_MISMATCH), never excused;
 * - wrong-key / malformed: no key verifies it (E_SIGNATURE_UNTRUSTED / E_SIGNATURE_INVALID),
 *   unless the user accepted unsigned content (--allow-unsigned), which the result shows.
 */
import { messageOf } from '../errors.js';
import {
  imageDigestOfSignatureTag,
  verifySigstoreSignatures,
  type SigstoreCheck,
} from '../signature/sigstore.js';
import { defaultSigstoreKeyPath, loadSigstoreKey, type SigstoreKey } from '../signature/sigstore-key.js';
import { blobEntryPath, manifestEntryPath } from './entry-path.js';
import type { BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import { parseManifest } from '../registry/manifest.js';

export type SigstoreArtifactState = 'valid' | 'wrong-key' | 'wrong-digest' | 'malformed';

export interface SigstoreResult {
  repository: string;
  tag: string;
  /** The `.sig` manifest digest. */
  digest: string;
  /** The image digest it signs (named by its tag). */
  signs: string;
  state: SigstoreArtifactState;
  reason?: string;
  /** Key that verified it (valid, wrong-digest). */
  keyFingerprint?: string;
  keySource?: string;
  /** What pack recorded (inspect without --deep shows this). */
  recorded: string;
  /** One per signature layer. */
  signatures: SigstoreCheck[];
}

/** Valid artifacts by `repository@digest`: trust-chain.ts anchors them through the image they sign. */
export type SigstoreAnchors = Map<string, { repository: string; tag: string; signs: string; by: string }>;

/** Blob entry paths verify must keep in memory: every `.sig` payload bundle.json lists. */
export function sigstorePayloadPaths(index: BundleIndex): Set<string> {
  const out = new Set<string>();
  for (const s of index.sigstore ?? []) for (const p of s.payloads) out.add(blobEntryPath(s.repository, p));
  return out;
}

function stateOf(checks: SigstoreCheck[]): { state: SigstoreArtifactState; check?: SigstoreCheck } {
  const wrong = checks.find((c) => c.state === 'wrong-digest');
  if (wrong) return { state: 'wrong-digest', check: wrong };
  const valid = checks.find((c) => c.state === 'valid');
  if (valid) return { state: 'valid', check: valid };
  const key = checks.find((c) => c.state === 'wrong-key');
  if (key) return { state: 'wrong-key', check: key };
  return { state: 'malformed', check: checks[0] };
}

export function checkSigstoreArtifacts(opts: {
  index: BundleIndex;
  content: ReadonlyMap<string, Buffer>;
  keys: readonly SigstoreKey[];
  allowUnsigned: boolean;
  add: (p: Problem) => void;
}): { results: SigstoreResult[]; anchors: SigstoreAnchors } {
  const { index, content, keys, add } = opts;
  const results: SigstoreResult[] = [];
  const anchors: SigstoreAnchors = new Map();
  for (const s of index.sigstore ?? []) {
    const entry = manifestEntryPath(s.repository, s.tag);
    const signs = imageDigestOfSignatureTag(s.tag) ?? s.signs;
    const result: SigstoreResult = {
      repository: s.repository,
      tag: s.tag,
      digest: s.digest,
      signs,
      state: 'malformed',
      recorded: s.state,
      signatures: [],
    };
    results.push(result);
    const image = index.images.find((i) => i.repository === s.repository && i.digest === s.digest);
    if (image === undefined || !image.tags.includes(s.tag)) {
      result.reason = `bundle.json lists no image ${s.repository}@${s.digest} tagged ${s.tag}`;
      add({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        entry,
        message: `Sigstore artifact ${s.repository}:${s.tag}: ${result.reason}`,
      });
      continue;
    }
    const bytes = content.get(blobEntryPath(s.repository, s.digest));
    if (bytes === undefined) {
      result.reason = 'its manifest was not read (missing or damaged)';
      continue; // the completeness and entry checks name the cause
    }
    try {
      const payloads = new Map<string, Buffer>();
      for (const l of parseManifest(bytes).layers) {
        const p = content.get(blobEntryPath(s.repository, l.digest));
        if (p !== undefined) payloads.set(l.digest, p);
      }
      result.signatures = verifySigstoreSignatures({
        manifest: bytes,
        payloads,
        keys,
        imageDigest: signs,
        where: `${s.repository}:${s.tag}`,
      });
    } catch (err) {
      result.reason = messageOf(err);
    }
    const { state, check } =
      result.signatures.length > 0
        ? stateOf(result.signatures)
        : { state: 'malformed' as const, check: undefined };
    result.state = state;
    if (check?.reason !== undefined) result.reason = check.reason;
    if (check?.keyFingerprint !== undefined) result.keyFingerprint = check.keyFingerprint;
    if (check?.keySource !== undefined) result.keySource = check.keySource;
    const what = `Sigstore signature ${s.repository}:${s.tag} (${s.digest})`;
    if (state === 'valid') {
      anchors.set(`${s.repository}@${s.digest}`, {
        repository: s.repository,
        tag: s.tag,
        signs,
        by: `Sigstore signature of ${signs}, key ${result.keyFingerprint ?? '?'}`,
      });
    } else if (state === 'wrong-digest') {
      add({
        code: 'E_TRUST_MISMATCH',
        entry,
        digest: s.digest,
        message: `${what} is tagged as the signature of ${signs}, but ${result.reason ?? 'it signs another image'}`,
      });
    } else if (!opts.allowUnsigned) {
      add({
        code: state === 'wrong-key' ? 'E_SIGNATURE_UNTRUSTED' : 'E_SIGNATURE_INVALID',
        entry,
        digest: s.digest,
        message: `${what}: ${state}: ${result.reason ?? 'no key verifies it'}`,
      });
    }
  }
  return { results, anchors };
}

/** The Sigstore keys given, else the shipped one (loaded only when the bundle carries artifacts). */
export async function sigstoreKeysFor(
  index: BundleIndex,
  given: SigstoreKey[] | undefined,
  add: (p: Problem) => void,
): Promise<SigstoreKey[]> {
  if (given !== undefined || (index.sigstore ?? []).length === 0) return given ?? [];
  try {
    return [await loadSigstoreKey(defaultSigstoreKeyPath())];
  } catch (err) {
    add({ code: 'E_KEYRING', message: `cannot load the default Sigstore key: ${messageOf(err)}` });
    return [];
  }
}
