/**
 * Strict validation of bundle.json (schema v2, and v1 as read from older bundles):
 * every field's type and grammar, the volume and entry lists' consistency, and every
 * path the index names being an entry. Returns every problem, never just the first.
 */
import { validateBase } from './base-schema.js';
import { isDigest } from '../digest.js';
import { entryPathProblem, isRepository, isTag, linkProblem, parseV2Path, partPath } from './entry-path.js';
import { checker, isObj, type Checker, type Obj } from './index-checker.js';
import { BUNDLE_SCHEMA, BUNDLE_SCHEMA_V1, type BundleIndex } from './index-schema.js';
import { sigstoreListProblems } from './sigstore-index.js';

const VOLUME_NAME = /^volume-(\d{3,})\.tar\.zst$/;

const INDEX_V2 = [
  'schema',
  'baleVersion',
  'created',
  'volumeSize',
  'releases',
  'graphs',
  'images',
  'signatures',
  'graphData',
  'sigstore',
  'manifests',
  'base',
  'volumes',
  'entries',
] as const;

/** Key order of each object in bundle.json (also the set of allowed keys). */
export const INDEX_KEYS = {
  index: INDEX_V2,
  /** Version 1: `release` (one, optional) where v2 has `releases` and `graphs`. */
  indexV1: INDEX_V2.flatMap((k) => (k === 'releases' ? ['release'] : k === 'graphs' ? [] : [k])),
  release: ['version', 'architecture', 'digest', 'source', 'repository', 'tag'],
  graph: ['path', 'channel', 'arch', 'source', 'sha256', 'releases'],
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

type EntryInfo = { type: unknown; volume?: string; order: number; sha256?: unknown };

/** Every way `value` fails to be a consistent bundle index. A v1 index comes back as v2 (`releases`). */
export function validateIndex(value: unknown): { index?: BundleIndex; problems: string[] } {
  const problems: string[] = [];
  const c = checker(problems);
  const v1 = isObj(value) && value.schema === BUNDLE_SCHEMA_V1;
  const top = c.obj(value, 'bundle.json', v1 ? INDEX_KEYS.indexV1 : INDEX_KEYS.index);
  if (top === undefined) return { problems };
  if (top.schema !== BUNDLE_SCHEMA && !v1) {
    c.bad('schema', `must be "${BUNDLE_SCHEMA}" (or "${BUNDLE_SCHEMA_V1}" for a bundle of one release)`);
  }
  c.str(top, 'baleVersion', 'bundle.json');
  c.str(top, 'created', 'bundle.json');
  const paths = checkVolumesAndEntries(c, top);
  checkReleases(c, top, v1);
  checkContent(c, top, paths);
  if (top.base !== undefined) validateBase(top.base, paths, c);
  if (problems.length > 0) return { problems };
  if (!v1) return { index: value as BundleIndex, problems };
  const { release, ...rest } = top;
  return { index: { ...rest, releases: release === undefined ? [] : [release] } as BundleIndex, problems };
}

/** volumes and entries: names, sizes, parts, links; returns each entry path's record. */
function checkVolumesAndEntries(c: Checker, top: Obj): Map<string, EntryInfo> {
  const { volumes, volumeNames } = checkVolumes(c, top);
  const state: EntriesState = {
    c,
    volumeNames,
    paths: new Map(),
    links: [],
    counts: new Map(),
    order: 0,
  };
  c.arr(top, 'entries', 'bundle.json').forEach((e, i) => checkEntry(state, e, `entries[${i}]`));
  checkManifestLinks(state);
  // No entry may be a folder of another.
  for (const p of state.paths.keys()) {
    const segs = p.split('/');
    for (let k = 1; k < segs.length; k++) {
      const prefix = segs.slice(0, k).join('/');
      if (state.paths.has(prefix)) c.bad(`entry ${prefix}`, `is also a folder of ${p}`);
    }
  }
  volumes.forEach((v, i) => {
    if (!isObj(v) || typeof v.name !== 'string' || typeof v.entries !== 'number') return;
    const n = state.counts.get(v.name) ?? 0;
    if (v.entries !== n) c.bad(`volumes[${i}].entries`, `is ${v.entries} but ${n} entries are in ${v.name}`);
  });
  return state.paths;
}

/** What the entry checks build up: each path's record, the links, entries per volume. */
interface EntriesState {
  c: Checker;
  /** Volume name → its position in `volumes`. */
  volumeNames: Map<string, number>;
  paths: Map<string, EntryInfo>;
  links: { where: string; path: string; target: string; volume?: string; order: number }[];
  counts: Map<string, number>;
  /** Position of the next entry or part in the order the volumes hold them. */
  order: number;
}

/** Each volume's fields, name (numbered in order) and size; returns the list and the names' positions. */
function checkVolumes(c: Checker, top: Obj): { volumes: unknown[]; volumeNames: Map<string, number> } {
  const { bad, obj, str, int, hex, arr } = c;
  const volumeSize = int(top, 'volumeSize', 'bundle.json');
  const volumeNames = new Map<string, number>();
  const volumes = arr(top, 'volumes', 'bundle.json');
  volumes.forEach((v, i) => {
    const w = `volumes[${i}]`;
    const o = obj(v, w, INDEX_KEYS.volume);
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
  return { volumes, volumeNames };
}

/** A `volume` field naming a listed volume (counted there), or a problem. */
function inVolume(state: EntriesState, v: unknown, where: string): v is string {
  if (typeof v !== 'string' || !state.volumeNames.has(v)) {
    state.c.bad(where, `names a volume not listed in volumes: ${JSON.stringify(v)}`);
    return false;
  }
  state.counts.set(v, (state.counts.get(v) ?? 0) + 1);
  return true;
}

/** One entry: path, type, size, digest or link, and where it is (a volume or parts). */
function checkEntry(state: EntriesState, e: unknown, w: string): void {
  const { bad, obj, int, hex } = state.c;
  const o = obj(e, w, INDEX_KEYS.entry);
  if (!o) return;
  const path = o.path;
  const pathBad = entryPathProblem(path);
  if (pathBad !== undefined || typeof path !== 'string') {
    bad(`${w}.path`, pathBad ?? 'is invalid');
    return;
  }
  const at = `${w} (${path})`;
  if (state.paths.has(path)) bad(at, 'is listed more than once');
  const type = o.type;
  const size = int(o, 'size', at);
  const v2 = parseV2Path(path);
  if (v2?.part !== undefined) bad(`${at}.path`, 'must not end in .part-NNN (parts are listed under parts)');
  const vol = o.volume;
  if (type !== 'file' && type !== 'symlink' && type !== 'hardlink') {
    bad(`${at}.type`, 'must be file, symlink or hardlink');
    return;
  }
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
    else
      state.links.push({
        where: at,
        path,
        target: o.linkTarget as string,
        volume: vol as string,
        order: state.order,
      });
    if (o.parts !== undefined) bad(at, 'is a link but has parts');
  }
  if (o.parts !== undefined) {
    if (vol !== undefined) bad(at, 'has both volume and parts');
    checkParts(state, o, path, at, size);
    state.paths.set(path, { type, order: state.order++, sha256: o.sha256 });
  } else {
    inVolume(state, vol, `${at}.volume`);
    const volume = typeof vol === 'string' ? { volume: vol } : {};
    state.paths.set(path, { type, ...volume, order: state.order++, sha256: o.sha256 });
  }
}

/** The parts of a split entry: paths, consecutive volumes, offsets adding up to its size. */
function checkParts(state: EntriesState, o: Obj, path: string, at: string, size: number | undefined): void {
  const { bad, obj, int, hex, arr } = state.c;
  const parts = arr(o, 'parts', at);
  if (parts.length < 2) bad(`${at}.parts`, 'must list at least two parts');
  let offset = 0;
  let lastVol = -1;
  parts.forEach((p, j) => {
    const pw = `${at}.parts[${j}]`;
    const po = obj(p, pw, INDEX_KEYS.part);
    if (!po) return;
    const pOffset = int(po, 'offset', pw);
    const pSize = int(po, 'size', pw);
    hex(po, 'sha256', pw);
    if (po.path !== partPath(path, j + 1)) bad(`${pw}.path`, `must be ${partPath(path, j + 1)}`);
    else if (state.paths.has(po.path)) bad(pw, 'path is listed more than once');
    if (inVolume(state, po.volume, `${pw}.volume`)) {
      const vi = state.volumeNames.get(po.volume) ?? -1;
      if (lastVol >= 0 && vi !== lastVol + 1)
        bad(`${pw}.volume`, 'must be the volume after the previous part');
      lastVol = vi;
      if (typeof po.path === 'string')
        state.paths.set(po.path, { type: 'part', volume: po.volume, order: state.order++ });
    }
    if (pOffset !== undefined && pOffset !== offset) bad(`${pw}.offset`, `must be ${offset}`);
    if (pSize !== undefined) offset += pSize;
    if (pSize === 0) bad(`${pw}.size`, 'must not be 0');
  });
  if (size !== undefined && offset !== size) bad(`${at}.parts`, `sizes add up to ${offset}, not ${size}`);
}

/** A manifest hard link points to a file entry earlier in the same volume. */
function checkManifestLinks(state: EntriesState): void {
  for (const l of state.links) {
    if (!l.path.includes('/manifests/sha256:')) continue;
    const t = state.paths.get(l.target);
    if (t === undefined || t.type !== 'file')
      state.c.bad(l.where, `hard link target ${l.target} is not a file entry`);
    else if (t.volume === undefined || t.volume !== l.volume)
      state.c.bad(l.where, `hard link target ${l.target} is not in the same volume`);
    else if (t.order > l.order)
      state.c.bad(l.where, `hard link target ${l.target} must come before the link`);
  }
}

/** `releases` (v2) or `release` (v1): each well-formed, no digest or tag twice. */
function checkReleases(c: Checker, top: Obj, v1: boolean): void {
  const { bad, obj, str, digest, repo, arr } = c;
  const list: { value: unknown; where: string }[] = v1
    ? top.release === undefined
      ? []
      : [{ value: top.release, where: 'release' }]
    : arr(top, 'releases', 'bundle.json').map((value, i) => ({ value, where: `releases[${i}]` }));
  const digests = new Set<unknown>();
  const tags = new Set<unknown>();
  for (const { value, where } of list) {
    const o = obj(value, where, INDEX_KEYS.release);
    if (!o) continue;
    for (const k of ['version', 'architecture', 'source', 'tag']) str(o, k, where);
    digest(o, 'digest', where);
    repo(o, 'repository', where);
    if (o.tag !== undefined && !isTag(o.tag)) bad(`${where}.tag`, 'is not a valid tag');
    if (digests.has(o.digest)) bad(`${where}.digest`, `${String(o.digest)} is listed as two releases`);
    if (tags.has(`${String(o.repository)}:${String(o.tag)}`))
      bad(`${where}.tag`, `${String(o.tag)} names two releases`);
    digests.add(o.digest);
    tags.add(`${String(o.repository)}:${String(o.tag)}`);
  }
}

/** graphs, images, signatures, graph data, manifests. */
function checkContent(c: Checker, top: Obj, paths: Map<string, EntryInfo>): void {
  const { bad, obj, str, int, digest, hex, arr, repo } = c;
  const versions = new Set(
    arr(top, 'releases', 'bundle.json', true).map((r) => (isObj(r) ? r.version : undefined)),
  );
  arr(top, 'graphs', 'bundle.json', true).forEach((g, i) => {
    const w = `graphs[${i}]`;
    const o = obj(g, w, INDEX_KEYS.graph);
    if (!o) return;
    for (const k of ['channel', 'arch', 'source']) str(o, k, w);
    hex(o, 'sha256', w);
    const p = str(o, 'path', w);
    const e = p === undefined ? undefined : paths.get(p);
    if (p !== undefined && !/^graph\/[A-Za-z0-9._-]+\.json$/.test(p))
      bad(`${w}.path`, 'must be graph/<channel>-<arch>.json');
    else if (p !== undefined && (e === undefined || e.type !== 'file'))
      bad(`${w}.path`, `${p} is not a file entry`);
    else if (e !== undefined && e.sha256 !== o.sha256)
      bad(`${w}.sha256`, `differs from the sha256 of entry ${p}`);
    arr(o, 'releases', w).forEach((v, j) => {
      // A --no-images bundle lists no release records: its graphs name versions only.
      if (typeof v !== 'string' || (versions.size > 0 && !versions.has(v)))
        bad(`${w}.releases[${j}]`, `${JSON.stringify(v)} is not the version of a release in releases`);
    });
  });
  arr(top, 'images', 'bundle.json').forEach((im, i) => {
    const w = `images[${i}]`;
    const o = obj(im, w, INDEX_KEYS.image);
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
    arr(o, 'children', w, true).forEach((ch, j) => {
      if (!isDigest(ch)) bad(`${w}.children[${j}]`, 'must be a sha256 digest');
    });
  });
  const checkSignature = (s: unknown, w: string): void => {
    const o = obj(s, w, INDEX_KEYS.signature);
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
    const o = obj(top.graphData, 'graphData', INDEX_KEYS.graphData);
    if (o) {
      for (const k of ['revision', 'source', 'tag']) str(o, k, 'graphData');
      digest(o, 'digest', 'graphData');
      repo(o, 'repository', 'graphData');
      str(o, 'signatureTag', 'graphData', true);
      digest(o, 'signatureDigest', 'graphData', true);
      arr(o, 'signatures', 'graphData').forEach((s, i) => checkSignature(s, `graphData.signatures[${i}]`));
    }
  }
  for (const p of sigstoreListProblems(top.sigstore, isRepository)) {
    const at = p.indexOf(' ');
    c.bad(p.slice(0, at), p.slice(at + 1));
  }
  arr(top, 'manifests', 'bundle.json').forEach((m, i) => {
    if (typeof m !== 'string' || !(m.startsWith('config/') || m.startsWith('manifests/'))) {
      bad(`manifests[${i}]`, 'must be an entry path under config/ or manifests/');
    } else if (!paths.has(m)) bad(`manifests[${i}]`, `${m} is not an entry`);
  });
}
