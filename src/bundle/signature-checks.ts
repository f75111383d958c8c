/**
 * The signatures of a bundle, checked with the two keyrings that never mix: the release
 * keyring for `signatures/…` files and signature ConfigMaps (which digests a vendor
 * signed, and as what), the index keyring for `bundle.json.asc` (whether the packer
 * vouches for the rest). Every failure is a problem; nothing is skipped silently.
 */
import { join } from 'node:path';
import { isBaleError, messageOf } from '../errors.js';
import {
  parseSignatureConfigMap,
  verifyDetached,
  verifySignature,
  type Keyring,
  type SignatureCheck,
} from '../signature/index.js';
import { INDEX_SIGNATURE_FILE } from './bundle-index.js';
import { readSmallRegularFile } from './small-file.js';

/** bundle.json.asc is an armored detached signature: a few KiB. */
export const MAX_ASC_BYTES = 64 * 1024;
import { releasesOf, type BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import type { IndexSignatureState, SignedDigest } from './trust-chain.js';

export interface SignatureResult extends SignatureCheck {
  /** Entry path (`signatures/…`, `config/…`) or `bundle.json.asc`. */
  path: string;
  kind: 'release' | 'graph-data' | 'configmap' | 'index';
  /** The digest the signature should sign (unset for bundle.json.asc). */
  expectedDigest?: string;
}

export interface SignatureFindings {
  results: SignatureResult[];
  /** Digests with at least one signature that verifies with the release keyring. */
  signed: Map<string, SignedDigest>;
  /** config/ entries that are signature ConfigMaps whose every signature verifies. */
  verifiedConfigMaps: Set<string>;
  index: IndexSignatureState;
}

export function signatureProblemCode(check: SignatureCheck): Problem['code'] {
  return check.reason !== undefined && /not in the keyrings|expired|revoked/.test(check.reason)
    ? 'E_SIGNATURE_UNTRUSTED'
    : 'E_SIGNATURE_INVALID';
}

const SIGNATURE_PATH = /^signatures\/sha256=([a-f0-9]{64})\/signature-[1-9][0-9]*$/;

export async function checkSignatures(o: {
  dir: string;
  index: BundleIndex;
  rawIndex: Buffer | undefined;
  content: Map<string, Buffer>;
  keyrings: Keyring[];
  /** Keyrings for bundle.json.asc; none given: the index signature is not checked. */
  indexKeyrings: Keyring[] | undefined;
  now?: Date;
  add: (p: Problem) => void;
}): Promise<SignatureFindings> {
  const { index, content, keyrings, add } = o;
  const found: SignatureFindings = {
    results: [],
    signed: new Map(),
    verifiedConfigMaps: new Set(),
    index: { state: 'unsigned' },
  };
  const byPath = new Map(index.entries.map((e) => [e.path, e]));
  const verifyOptions = o.now === undefined ? {} : { now: o.now };
  const vouch = (digest: string, kind: SignedDigest['kind'], check: SignatureCheck): void => {
    const s = found.signed.get(digest) ?? { kind, identities: [], keyIds: [] };
    if (check.identity !== undefined && !s.identities.includes(check.identity))
      s.identities.push(check.identity);
    if (check.keyId !== undefined && !s.keyIds.includes(check.keyId)) s.keyIds.push(check.keyId);
    found.signed.set(digest, s);
  };

  // Signature files: signatures/sha256=<hex>/signature-<N>; the digest is in the path.
  const records = new Map<string, { kind: 'release' | 'graph-data'; keyId: string; identity: string }>();
  for (const s of index.signatures)
    records.set(s.path, { kind: 'release', keyId: s.keyId, identity: s.identity });
  for (const s of index.graphData?.signatures ?? [])
    records.set(s.path, { kind: 'graph-data', keyId: s.keyId, identity: s.identity });
  for (const e of index.entries) {
    if (!e.path.startsWith('signatures/')) continue;
    const m = SIGNATURE_PATH.exec(e.path);
    if (!m) {
      add({
        code: 'E_BUNDLE_INVALID',
        volume: e.volume,
        entry: e.path,
        message: `${e.path} is not signatures/sha256=<hex>/signature-<N>`,
      });
      continue;
    }
    const bytes = content.get(e.path);
    if (bytes === undefined) continue; // reported with the entry
    const digest = `sha256:${m[1] ?? ''}`;
    const record = records.get(e.path);
    const kind = record?.kind ?? (digest === index.graphData?.digest ? 'graph-data' : 'release');
    const check = await verifySignature(bytes, keyrings, digest, verifyOptions);
    found.results.push({ ...check, path: e.path, kind, expectedDigest: digest });
    if (!check.ok) {
      add({
        code: signatureProblemCode(check),
        volume: e.volume,
        entry: e.path,
        digest,
        message: `${e.path}: ${check.reason ?? 'does not verify'}`,
      });
      continue;
    }
    if (record !== undefined && (record.keyId !== check.keyId || record.identity !== check.identity)) {
      add({
        code: 'E_SIGNATURE_INVALID',
        volume: e.volume,
        entry: e.path,
        digest,
        message: `${e.path}: signed by ${check.keyId} for ${check.identity}, bundle.json says ${record.keyId} for ${record.identity}`,
      });
      continue;
    }
    vouch(digest, kind, check);
  }
  for (const [path, r] of records) {
    if (!byPath.has(path))
      add({
        code: 'E_BUNDLE_INVALID',
        entry: path,
        message: `bundle.json lists ${r.kind} signature ${path}, which is not an entry`,
      });
  }

  await checkConfigMaps(index, content, keyrings, verifyOptions, found, vouch, add);
  // Every release needs a signature of its own: one signed release vouches for no other.
  for (const rel of releasesOf(index)) {
    if (found.signed.has(rel.digest) || found.results.some((r) => !r.ok && r.expectedDigest === rel.digest))
      continue;
    add({
      code: 'E_SIGNATURE_NONE',
      digest: rel.digest,
      message: `no signature in the bundle verifies the release ${rel.version} (${rel.digest})`,
    });
  }
  found.index = await checkIndexSignature(o, (r) => found.results.push(r));
  return found;
}

/** bundle.json.asc, checked with the index keyring only. */
async function checkIndexSignature(
  o: {
    dir: string;
    rawIndex: Buffer | undefined;
    indexKeyrings: Keyring[] | undefined;
    now?: Date;
    add: (p: Problem) => void;
  },
  result: (r: SignatureResult) => void,
): Promise<IndexSignatureState> {
  let asc: string | undefined;
  try {
    asc = (
      await readSmallRegularFile(join(o.dir, INDEX_SIGNATURE_FILE), MAX_ASC_BYTES, INDEX_SIGNATURE_FILE)
    ).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      o.add({
        code: 'E_BUNDLE_INVALID',
        file: INDEX_SIGNATURE_FILE,
        message: `${INDEX_SIGNATURE_FILE} cannot be read: ${messageOf(err)}`,
      });
      return { state: 'invalid', reason: messageOf(err) };
    }
    asc = undefined;
  }
  if (asc === undefined) {
    if (o.indexKeyrings !== undefined) {
      o.add({
        code: 'E_SIGNATURE_NONE',
        file: INDEX_SIGNATURE_FILE,
        message: `bundle.json is not signed (no ${INDEX_SIGNATURE_FILE}), but --index-keyring asks for a bundle signature`,
      });
    }
    return { state: 'unsigned' };
  }
  if (o.indexKeyrings === undefined) {
    return {
      state: 'not-checked',
      reason: `${INDEX_SIGNATURE_FILE} is there but no --index-keyring was given`,
    };
  }
  if (o.rawIndex === undefined) return { state: 'invalid', reason: 'bundle.json could not be read' };
  const check = await verifyDetached(
    o.rawIndex,
    asc,
    o.indexKeyrings,
    o.now === undefined ? {} : { now: o.now },
  );
  result({ ...check, path: INDEX_SIGNATURE_FILE, kind: 'index' });
  if (!check.ok) {
    o.add({
      code: signatureProblemCode(check),
      file: INDEX_SIGNATURE_FILE,
      message: `${INDEX_SIGNATURE_FILE}: ${check.reason ?? 'does not verify'} with the --index-keyring`,
    });
    return { state: 'invalid', ...(check.reason ? { reason: check.reason } : {}) };
  }
  return {
    state: 'signed',
    ...(check.keyId ? { keyId: check.keyId } : {}),
    ...(check.userId ? { userId: check.userId } : {}),
  };
}

/** Signature ConfigMaps under config/: all of each parsed, every signature checked. */
async function checkConfigMaps(
  index: BundleIndex,
  content: Map<string, Buffer>,
  keyrings: Keyring[],
  verifyOptions: { now?: Date },
  found: SignatureFindings,
  vouch: (digest: string, kind: SignedDigest['kind'], check: SignatureCheck) => void,
  add: (p: Problem) => void,
): Promise<void> {
  const releaseDigests = new Set(releasesOf(index).map((r) => r.digest));
  for (const e of index.entries) {
    if (!e.path.startsWith('config/')) continue;
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    if (!name.startsWith('signature-')) continue;
    const bytes = content.get(e.path);
    if (bytes === undefined) continue; // reported with the entry (damaged or too large)
    let parsed: { digest: string; signatures: Buffer[] };
    try {
      parsed = parseSignatureConfigMap(bytes.toString('utf8'), e.path);
    } catch (err) {
      add({
        code: isBaleError(err) ? err.code : 'E_SIGNATURE_INVALID',
        volume: e.volume,
        entry: e.path,
        message: messageOf(err),
      });
      continue;
    }
    if (releaseDigests.size > 0 && !releaseDigests.has(parsed.digest)) {
      add({
        code: 'E_SIGNATURE_INVALID',
        volume: e.volume,
        entry: e.path,
        digest: parsed.digest,
        message: `${e.path} holds signatures for ${parsed.digest}, which is not a release of the bundle (${[...releaseDigests].join(', ')})`,
      });
      continue;
    }
    let all = parsed.signatures.length > 0;
    for (const [i, sig] of parsed.signatures.entries()) {
      const check = await verifySignature(sig, keyrings, parsed.digest, verifyOptions);
      const where = `${e.path} (signature ${i + 1})`;
      found.results.push({ ...check, path: where, kind: 'configmap', expectedDigest: parsed.digest });
      if (!check.ok) {
        all = false;
        add({
          code: signatureProblemCode(check),
          volume: e.volume,
          entry: e.path,
          digest: parsed.digest,
          message: `${where}: ${check.reason ?? 'does not verify'}`,
        });
      } else vouch(parsed.digest, 'release', check);
    }
    if (all) found.verifiedConfigMaps.add(e.path);
  }
}
