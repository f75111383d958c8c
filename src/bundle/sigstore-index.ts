/**
 * bundle.json's `sigstore` list: the Sigstore (cosign) signature artifacts a bundle
 * carries. Each artifact is also an image of `images[]` (so push, the directory layout,
 * completeness and mirror configuration treat it like any image); this list says what
 * it signs and what pack found when it checked it. verify never trusts `state`: it
 * checks every artifact again (src/bundle/sigstore-checks.ts).
 */
import { isDigest } from '../digest.js';
import { imageDigestOfSignatureTag } from '../signature/sigstore.js';

export interface BundleSigstore {
  /** Repository under v2/: the signed image's own repository. */
  repository: string;
  /** `sha256-<hex>.sig`, naming the signed image's digest. */
  tag: string;
  /** Digest of the `.sig` manifest. */
  digest: string;
  /** The digest of the image it signs (the one its tag names). */
  signs: string;
  /** Where it was found: `<registry>/<repository>`. */
  source: string;
  /** Digests of its simple-signing payload layers (verify keeps these blobs to check them). */
  payloads: string[];
  /** What pack found with its keys: `valid` (a key verified a signature for `signs`), `wrong-key`, `malformed`. */
  state: 'valid' | 'wrong-key' | 'malformed';
}

export const SIGSTORE_KEYS = ['repository', 'tag', 'digest', 'signs', 'source', 'payloads', 'state'] as const;

const STATES = new Set(['valid', 'wrong-key', 'malformed']);
const MAX_PAYLOADS = 64;

/** Problems of a `sigstore` list (each `where what`), for validateIndex. */
export function sigstoreListProblems(value: unknown, isRepository: (v: unknown) => boolean): string[] {
  const out: string[] = [];
  if (value === undefined) return out;
  if (!Array.isArray(value)) return ['sigstore must be an array'];
  value.forEach((s: unknown, i) => {
    const w = `sigstore[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      out.push(`${w} is not an object`);
      return;
    }
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!(SIGSTORE_KEYS as readonly string[]).includes(k)) out.push(`${w} has unknown field "${k}"`);
    }
    if (!isRepository(o.repository)) out.push(`${w}.repository must be a repository path`);
    const signs = typeof o.tag === 'string' ? imageDigestOfSignatureTag(o.tag) : undefined;
    if (signs === undefined) out.push(`${w}.tag must be sha256-<64 hex>.sig`);
    else if (o.signs !== signs) out.push(`${w}.signs must be the digest its tag names (${signs})`);
    if (!isDigest(o.digest)) out.push(`${w}.digest must be a sha256:<64 hex> digest`);
    if (typeof o.source !== 'string' || o.source.length === 0 || o.source.length > 4096) {
      out.push(`${w}.source must be a non-empty string`);
    }
    if (!Array.isArray(o.payloads) || o.payloads.length > MAX_PAYLOADS || !o.payloads.every(isDigest)) {
      out.push(`${w}.payloads must be a list of at most ${MAX_PAYLOADS} sha256 digests`);
    }
    if (typeof o.state !== 'string' || !STATES.has(o.state)) {
      out.push(`${w}.state must be one of ${[...STATES].join(', ')}`);
    }
  });
  return out;
}
