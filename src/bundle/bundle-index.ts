import { open as openFile, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { join } from 'node:path';
import { writeSha256Sums } from './sha256sums.js';
import { isDigest, sha256Hex } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import {
  entryPathProblem,
  isHex64,
  isRepository,
  isTag,
  linkProblem,
  parseV2Path,
  partPath,
} from './entry-path.js';
import {
  BUNDLE_SCHEMA,
  type BundleEntry,
  type BundleGraphData,
  type BundleImage,
  type BundleIndex,
  type BundlePart,
  type BundleRelease,
  type BundleSignature,
  type BundleVolume,
} from './index-schema.js';
import { SIGSTORE_KEYS, sigstoreListProblems, type BundleSigstore } from './sigstore-index.js';

export const INDEX_FILE = 'bundle.json';
/** bundle.json larger than this is refused before parsing. */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
const VOLUME_NAME = /^volume-(\d{3,})\.tar\.zst$/;

// Key order of each object in bundle.json (also the set of allowed keys).
const KEYS = {
  index: [
    'schema',
    'baleVersion',
    'created',
    'volumeSize',
    'release',
    'images',
    'signatures',
    'graphData',
    'sigstore',
    'manifests',
    'volumes',
    'entries',
  ],
  release: ['version', 'architecture', 'digest', 'source', 'repository', 'tag'],
  image: ['name', 'source', 'repository', 'digest', 'mediaType', 'size', 'tags', 'children'],
  signature: ['digest', 'path', 'keyId', 'userId', 'identity', 'source'],
  graphData: [
    'revision',
    'digest',
    'source',
    'repository',
    'tag',
    'signatureTag',
    'signatureDigest',
    'signatures',
  ],
  volume: ['name', 'size', 'sha256', 'entries'],
  entry: ['path', 'type', 'size', 'sha256', 'volume', 'linkTarget', 'parts'],
  part: ['volume', 'path', 'offset', 'size', 'sha256'],
} as const;

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
    release: (v) => ordered(v as BundleRelease, KEYS.release),
    images: (v) => (v as BundleImage[]).map((i) => ordered(i, KEYS.image)),
    signatures: sigs,
    graphData: (v) => ordered(v as BundleGraphData, KEYS.graphData, { signatures: sigs }),
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

/** Alias of readIndex. */
export function readBundleIndex(dir: string): Promise<BundleIndex> {
  return readIndex(dir);
}

/** Reads and strictly validates bundle.json; E_BUNDLE_INVALID naming every problem found. */
export async function readIndex(dir: string): Promise<BundleIndex> {
  const path = join(dir, INDEX_FILE);
  let raw: Buffer;
  try {
    const fh = await openFile(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new BaleError('E_BUNDLE_INVALID', `${path} is not a regular file`);
      if (st.size > MAX_INDEX_BYTES) {
        throw new BaleError(
          'E_BUNDLE_INVALID',
          `${path} is ${st.size} bytes, more than the ${MAX_INDEX_BYTES} bale accepts`,
        );
      }
      raw = await readFile(fh);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof BaleError) throw err;
    const code = (err as { code?: string }).code;
    throw new BaleError(
      code === 'ENOENT' ? 'E_BUNDLE_INCOMPLETE' : 'E_IO',
      code === 'ENOENT'
        ? `${path} does not exist: not a bale bundle`
        : `cannot read ${path}: ${messageOf(err)}`,
      {
        hint: 'Point bale at the directory that holds bundle.json, SHA256SUMS and the volumes.',
        details: { file: INDEX_FILE },
      },
    );
  }
  return parseIndex(raw, path);
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

/** Every way `value` fails to be a consistent bundle index. */
export function validateIndex(value: unknown): { index?: BundleIndex; problems: string[] } {
  const problems: string[] = [];
  const bad = (where: string, what: string): void => {
    problems.push(`${where} ${what}`);
  };
  const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  const obj = (v: unknown, where: string, keys: readonly string[]): Obj | undefined => {
    if (!isObj(v)) {
      bad(where, 'is not an object');
      return undefined;
    }
    for (const k of Object.keys(v)) if (!keys.includes(k)) bad(where, `has unknown field "${k}"`);
    return v;
  };
  const str = (o: Obj, k: string, where: string, optional = false): string | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096) {
      bad(`${where}.${k}`, 'must be a non-empty string');
      return undefined;
    }
    return v;
  };
  const int = (o: Obj, k: string, where: string): number | undefined => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      bad(`${where}.${k}`, 'must be a non-negative integer');
      return undefined;
    }
    return v;
  };
  const digest = (o: Obj, k: string, where: string, optional = false): void => {
    if (o[k] === undefined && optional) return;
    if (!isDigest(o[k])) bad(`${where}.${k}`, 'must be a sha256:<64 hex> digest');
  };
  const hex = (o: Obj, k: string, where: string): void => {
    if (!isHex64(o[k])) bad(`${where}.${k}`, 'must be 64 lowercase hex characters');
  };
  const arr = (o: Obj, k: string, where: string, optional = false): unknown[] => {
    const v = o[k];
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) {
      bad(`${where}.${k}`, 'must be an array');
      return [];
    }
    return v;
  };
  const repo = (o: Obj, k: string, where: string): void => {
    if (!isRepository(o[k])) bad(`${where}.${k}`, 'must be a repository path (lowercase components)');
  };

  const top = obj(value, 'bundle.json', KEYS.index);
  if (top === undefined) return { problems };
  if (top.schema !== BUNDLE_SCHEMA) bad('schema', `must be "${BUNDLE_SCHEMA}"`);
  str(top, 'baleVersion', 'bundle.json');
  str(top, 'created', 'bundle.json');
  const volumeSize = int(top, 'volumeSize', 'bundle.json');

  // volumes
  const volumeNames = new Map<string, number>();
  const volumes = arr(top, 'volumes', 'bundle.json');
  volumes.forEach((v, i) => {
    const w = `volumes[${i}]`;
    const o = obj(v, w, KEYS.volume);
    if (!o) return;
    const name = str(o, 'name', w);
    const size = int(o, 'size', w);
    hex(o, 'sha256', w);
    int(o, 'entries', w);
    if (name !== undefined) {
      const m = VOLUME_NAME.exec(name);
      if (!m || Number(m[1]) !== i + 1)
        bad(`${w}.name`, `must be volume-${String(i + 1).padStart(3, '0')}.tar.zst`);
      else volumeNames.set(name, i);
    }
    if (size !== undefined && volumeSize !== undefined && size > volumeSize) {
      bad(`${w}.size`, `is larger than volumeSize ${volumeSize}`);
    }
  });
  const counts = new Map<string, number>();
  const countIn = (vol: string): void => {
    counts.set(vol, (counts.get(vol) ?? 0) + 1);
  };

  // entries
  const paths = new Map<string, { type: unknown; volume?: string; order: number }>();
  const entries = arr(top, 'entries', 'bundle.json');
  const links: { where: string; path: string; target: string; volume?: string; order: number }[] = [];
  let order = 0;
  entries.forEach((e, i) => {
    const w = `entries[${i}]`;
    const o = obj(e, w, KEYS.entry);
    if (!o) return;
    const path = o.path;
    const pathBad = entryPathProblem(path);
    if (pathBad !== undefined || typeof path !== 'string') {
      bad(`${w}.path`, pathBad ?? 'is invalid');
      return;
    }
    const at = `${w} (${path})`;
    if (paths.has(path)) bad(at, 'is listed more than once');
    const type = o.type;
    const size = int(o, 'size', at);
    const v2 = parseV2Path(path);
    if (v2?.part !== undefined) bad(`${at}.path`, 'must not end in .part-NNN (parts are listed under parts)');
    const vol = o.volume;
    if (type !== 'file' && type !== 'symlink' && type !== 'hardlink') {
      bad(`${at}.type`, 'must be file, symlink or hardlink');
      return;
    }
    const checkVolume = (v: unknown, where: string): v is string => {
      if (typeof v !== 'string' || !volumeNames.has(v)) {
        bad(where, `names a volume not listed in volumes: ${JSON.stringify(v)}`);
        return false;
      }
      return true;
    };
    if (type === 'file') {
      hex(o, 'sha256', at);
      if (o.linkTarget !== undefined) bad(at, 'is a file but has a linkTarget');
      if (v2?.kind === 'blobs' && o.sha256 !== v2.name.slice(7))
        bad(`${at}.sha256`, 'differs from the digest in the blob path');
      if (v2?.kind === 'manifests') bad(at, 'a manifest under v2/ must be a hard link or a tag symlink');
    } else {
      if (o.sha256 !== undefined) bad(at, 'is a link but has a sha256');
      if (size !== undefined && size !== 0) bad(`${at}.size`, 'must be 0 for a link');
      const lp = linkProblem(type, path, o.linkTarget);
      if (lp !== undefined) bad(at, lp);
      else links.push({ where: at, path, target: o.linkTarget as string, volume: vol as string, order });
      if (o.parts !== undefined) bad(at, 'is a link but has parts');
    }
    if (o.parts !== undefined) {
      if (vol !== undefined) bad(at, 'has both volume and parts');
      const parts = arr(o, 'parts', at);
      if (parts.length < 2) bad(`${at}.parts`, 'must list at least two parts');
      let offset = 0;
      let lastVol = -1;
      parts.forEach((p, j) => {
        const pw = `${at}.parts[${j}]`;
        const po = obj(p, pw, KEYS.part);
        if (!po) return;
        const pOffset = int(po, 'offset', pw);
        const pSize = int(po, 'size', pw);
        hex(po, 'sha256', pw);
        if (po.path !== partPath(path, j + 1)) bad(`${pw}.path`, `must be ${partPath(path, j + 1)}`);
        else if (paths.has(po.path)) bad(pw, 'path is listed more than once');
        if (checkVolume(po.volume, `${pw}.volume`)) {
          const vi = volumeNames.get(po.volume) ?? -1;
          if (lastVol >= 0 && vi !== lastVol + 1)
            bad(`${pw}.volume`, 'must be the volume after the previous part');
          lastVol = vi;
          countIn(po.volume);
          if (typeof po.path === 'string')
            paths.set(po.path, { type: 'part', volume: po.volume, order: order++ });
        }
        if (pOffset !== undefined && pOffset !== offset) bad(`${pw}.offset`, `must be ${offset}`);
        if (pSize !== undefined) offset += pSize;
        if (pSize === 0) bad(`${pw}.size`, 'must not be 0');
      });
      if (size !== undefined && offset !== size) bad(`${at}.parts`, `sizes add up to ${offset}, not ${size}`);
      paths.set(path, { type, order: order++ });
    } else {
      if (checkVolume(vol, `${at}.volume`)) countIn(vol);
      paths.set(path, { type, volume: typeof vol === 'string' ? vol : undefined, order: order++ } as {
        type: unknown;
        volume?: string;
        order: number;
      });
    }
  });
  for (const l of links) {
    if (!l.path.includes('/manifests/sha256:')) continue;
    const t = paths.get(l.target);
    if (t === undefined || t.type !== 'file')
      bad(l.where, `hard link target ${l.target} is not a file entry`);
    else if (t.volume === undefined || t.volume !== l.volume)
      bad(l.where, `hard link target ${l.target} is not in the same volume`);
    else if (t.order > l.order) bad(l.where, `hard link target ${l.target} must come before the link`);
  }
  // No entry may be a folder of another.
  for (const p of paths.keys()) {
    const segs = p.split('/');
    for (let k = 1; k < segs.length; k++) {
      const prefix = segs.slice(0, k).join('/');
      if (paths.has(prefix)) bad(`entry ${prefix}`, `is also a folder of ${p}`);
    }
  }
  volumes.forEach((v, i) => {
    if (!isObj(v) || typeof v.name !== 'string' || typeof v.entries !== 'number') return;
    const n = counts.get(v.name) ?? 0;
    if (v.entries !== n) bad(`volumes[${i}].entries`, `is ${v.entries} but ${n} entries are in ${v.name}`);
  });

  // release, images, signatures, graph data, manifests
  if (top.release !== undefined) {
    const o = obj(top.release, 'release', KEYS.release);
    if (o) {
      for (const k of ['version', 'architecture', 'source', 'tag']) str(o, k, 'release');
      digest(o, 'digest', 'release');
      repo(o, 'repository', 'release');
      if (o.tag !== undefined && !isTag(o.tag)) bad('release.tag', 'is not a valid tag');
    }
  }
  arr(top, 'images', 'bundle.json').forEach((im, i) => {
    const w = `images[${i}]`;
    const o = obj(im, w, KEYS.image);
    if (!o) return;
    str(o, 'name', w);
    str(o, 'source', w);
    repo(o, 'repository', w);
    digest(o, 'digest', w);
    str(o, 'mediaType', w);
    int(o, 'size', w);
    arr(o, 'tags', w).forEach((t, j) => {
      if (!isTag(t)) bad(`${w}.tags[${j}]`, 'is not a valid tag');
    });
    arr(o, 'children', w, true).forEach((c, j) => {
      if (!isDigest(c)) bad(`${w}.children[${j}]`, 'must be a sha256 digest');
    });
  });
  const checkSignature = (s: unknown, w: string): void => {
    const o = obj(s, w, KEYS.signature);
    if (!o) return;
    digest(o, 'digest', w);
    const p = str(o, 'path', w);
    if (p !== undefined && !p.startsWith('signatures/')) bad(`${w}.path`, 'must be under signatures/');
    else if (p !== undefined && !paths.has(p)) bad(`${w}.path`, `${p} is not an entry`);
    const keyId = str(o, 'keyId', w);
    if (keyId !== undefined && !/^[0-9A-F]{16}$/.test(keyId))
      bad(`${w}.keyId`, 'must be 16 upper-case hex characters');
    str(o, 'userId', w, true);
    str(o, 'identity', w);
    str(o, 'source', w);
  };
  arr(top, 'signatures', 'bundle.json').forEach((s, i) => checkSignature(s, `signatures[${i}]`));
  if (top.graphData !== undefined) {
    const o = obj(top.graphData, 'graphData', KEYS.graphData);
    if (o) {
      for (const k of ['revision', 'source', 'tag']) str(o, k, 'graphData');
      digest(o, 'digest', 'graphData');
      repo(o, 'repository', 'graphData');
      str(o, 'signatureTag', 'graphData', true);
      digest(o, 'signatureDigest', 'graphData', true);
      arr(o, 'signatures', 'graphData').forEach((s, i) => checkSignature(s, `graphData.signatures[${i}]`));
    }
  }
  for (const p of sigstoreListProblems(top.sigstore, isRepository)) problems.push(p);
  arr(top, 'manifests', 'bundle.json').forEach((m, i) => {
    if (typeof m !== 'string' || !(m.startsWith('config/') || m.startsWith('manifests/'))) {
      bad(`manifests[${i}]`, 'must be an entry path under config/ or manifests/');
    } else if (!paths.has(m)) bad(`manifests[${i}]`, `${m} is not an entry`);
  });

  return problems.length > 0 ? { problems } : { index: value as BundleIndex, problems };
}
