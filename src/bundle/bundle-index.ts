import { writeFileAtomic } from './atomic-write.js';
import { join } from 'node:path';
import { writeSha256Sums } from './sha256sums.js';
import { sha256Hex } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import { BASE_KEYS } from './base-schema.js';
import type {
  BundleBase,
  BundleBaseDigest,
  BundleEntry,
  BundleGraph,
  BundleGraphData,
  BundleImage,
  BundleIndex,
  BundlePart,
  BundleRelease,
  BundleSignature,
  BundleVolume,
} from './index-schema.js';
import { INDEX_KEYS as KEYS, validateIndex } from './index-validation.js';
import { SIGSTORE_KEYS, type BundleSigstore } from './sigstore-index.js';

export { validateIndex } from './index-validation.js';

export const INDEX_FILE = 'bundle.json';
/** bundle.json larger than this is refused before parsing. */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;

type Obj = Record<string, unknown>;

function ordered(
  value: object,
  keys: readonly string[],
  nested: Record<string, (v: unknown) => unknown> = {},
): Obj {
  const src = value as Obj;
  const out: Obj = {};
  for (const k of keys) {
    const v = src[k];
    if (v === undefined) continue;
    const f = nested[k];
    out[k] = f ? f(v) : v;
  }
  return out;
}

/** bundle.json text: fixed key order, 2-space indent, trailing newline. */
export function serializeIndex(index: BundleIndex): string {
  const sig = (s: unknown): Obj => ordered(s as BundleSignature, KEYS.signature);
  const sigs = (v: unknown): unknown => (v as unknown[]).map(sig);
  const doc = ordered(index, KEYS.index, {
    releases: (v) => (v as BundleRelease[]).map((r) => ordered(r, KEYS.release)),
    graphs: (v) => (v as BundleGraph[]).map((g) => ordered(g, KEYS.graph)),
    images: (v) => (v as BundleImage[]).map((i) => ordered(i, KEYS.image)),
    signatures: sigs,
    graphData: (v) => ordered(v as BundleGraphData, KEYS.graphData, { signatures: sigs }),
    base: (v) =>
      ordered(v as BundleBase, BASE_KEYS.base, {
        digests: (d) => (d as BundleBaseDigest[]).map((x) => ordered(x, BASE_KEYS.digest)),
      }),
    sigstore: (v) => (v as BundleSigstore[]).map((x) => ordered(x, SIGSTORE_KEYS)),
    volumes: (v) => (v as BundleVolume[]).map((x) => ordered(x, KEYS.volume)),
    entries: (v) =>
      (v as BundleEntry[]).map((e) =>
        ordered(e, KEYS.entry, { parts: (p) => (p as BundlePart[]).map((x) => ordered(x, KEYS.part)) }),
      ),
  });
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Writes bundle.json (temp name, fsync, rename). Returns its size and sha256 hex. */
export async function writeIndex(dir: string, index: BundleIndex): Promise<{ size: number; sha256: string }> {
  const problems = validateIndex(index).problems;
  if (problems.length > 0) {
    throw new BaleError(
      'E_BUNDLE_INVALID',
      `refusing to write an invalid bundle.json: ${problems.slice(0, 5).join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  const text = serializeIndex(index);
  await writeFileAtomic(join(dir, INDEX_FILE), text);
  return { size: Buffer.byteLength(text), sha256: sha256Hex(text) };
}

export const INDEX_SIGNATURE_FILE = 'bundle.json.asc';

/**
 * Writes bundle.json, `bundle.json.asc` when a signature is given (an armored detached
 * signature of exactly `serializeIndex(index)`), then SHA256SUMS over bundle.json and
 * every volume (volume digests as the index records them). Returns bundle.json's digest.
 */
export async function writeBundleIndex(
  dir: string,
  index: BundleIndex,
  opts: { signature?: string } = {},
): Promise<{ size: number; sha256: string }> {
  const written = await writeIndex(dir, index);
  if (opts.signature !== undefined) await writeFileAtomic(join(dir, INDEX_SIGNATURE_FILE), opts.signature);
  await writeSha256Sums(dir, [
    { name: INDEX_FILE, sha256: written.sha256 },
    ...index.volumes.map((v) => ({ name: v.name, sha256: v.sha256 })),
  ]);
  return written;
}

export function parseIndex(raw: Uint8Array | string, where = INDEX_FILE): BundleIndex {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw new BaleError('E_BUNDLE_INVALID', `${where} is not valid JSON: ${messageOf(err)}`, {
      hint: 'bundle.json is damaged: copy the bundle again.',
      details: { file: INDEX_FILE },
    });
  }
  const { index, problems } = validateIndex(value);
  if (index === undefined || problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new BaleError('E_BUNDLE_INVALID', `${where} is not a valid bale bundle index: ${shown}${more}`, {
      hint: 'bundle.json is damaged or was not written by bale: copy the bundle again.',
      details: { file: INDEX_FILE, problems },
    });
  }
  return index;
}
