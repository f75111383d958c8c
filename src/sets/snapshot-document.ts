/**
 * A snapshot: the textual fingerprint of what a registry (or a bundle) holds, in the
 * image promoter's `images.yaml` shape:
 *
 * ```yaml
 * - name: openshift/release
 *   dmap:
 *     "sha256:<hex>": ["4.18.1-x86_64"]
 *     "sha256:<hex>": []
 * ```
 *
 * Names sorted, digests sorted within a name, tags sorted: the same content always
 * renders to the same bytes. Also as CSV (`name,digest,tag`, one row per tag, an
 * untagged digest with an empty tag) and as JSON (`{"images": [{name, dmap}]}`).
 * `parseSnapshot` reads any of the three back, strictly: a snapshot decides what is
 * left out of a bundle, so a damaged one must fail, not shrink the set.
 */
import { open } from 'node:fs/promises';
import YAML from 'yaml';
import { isDigest } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import { isRepositoryPath, isTag } from '../registry/reference.js';
import { ImageSet } from './inventory.js';

export interface SnapshotEntry {
  name: string;
  /** digest → tags (sorted; empty for an untagged digest). */
  dmap: Record<string, string[]>;
}

/** Sorted by name; each dmap's keys inserted in sorted order. */
export type SnapshotDocument = SnapshotEntry[];

/** Largest snapshot file bale reads. */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export const CSV_HEADER = 'name,digest,tag';

export function snapshotFromSet(set: ImageSet): SnapshotDocument {
  const doc: SnapshotDocument = [];
  for (const im of set.images()) {
    let last = doc[doc.length - 1];
    if (last === undefined || last.name !== im.name) {
      last = { name: im.name, dmap: {} };
      doc.push(last);
    }
    last.dmap[im.digest] = im.tags;
  }
  return doc;
}

export function setFromSnapshot(doc: SnapshotDocument): ImageSet {
  const set = new ImageSet();
  for (const e of doc)
    for (const [digest, tags] of Object.entries(e.dmap)) set.add({ name: e.name, digest, tags });
  return set;
}

const YAML_WORDS = new Set(['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'y', 'n', '~']);

function yamlScalar(s: string): string {
  return /^[a-z][a-z0-9._/-]*$/.test(s) && !YAML_WORDS.has(s) ? s : JSON.stringify(s);
}

export function renderSnapshotYaml(doc: SnapshotDocument): string {
  if (doc.length === 0) return '[]\n';
  const out: string[] = [];
  for (const e of doc) {
    out.push(`- name: ${yamlScalar(e.name)}`);
    const digests = Object.keys(e.dmap);
    if (digests.length === 0) {
      out.push('  dmap: {}');
      continue;
    }
    out.push('  dmap:');
    for (const d of digests)
      out.push(`    ${JSON.stringify(d)}: [${(e.dmap[d] ?? []).map((t) => JSON.stringify(t)).join(', ')}]`);
  }
  return `${out.join('\n')}\n`;
}

export function renderSnapshotCsv(doc: SnapshotDocument): string {
  const rows = [CSV_HEADER];
  for (const e of doc) {
    for (const [digest, tags] of Object.entries(e.dmap)) {
      if (tags.length === 0) rows.push(`${e.name},${digest},`);
      for (const t of tags) rows.push(`${e.name},${digest},${t}`);
    }
  }
  return `${rows.join('\n')}\n`;
}

function invalid(where: string, what: string): BaleError {
  return new BaleError('E_SNAPSHOT_INVALID', `${where}: ${what}`, {
    hint: 'Use a file written by bale snapshot (YAML, --output csv or --json), unedited.',
    details: { file: where },
  });
}

/** Parses a snapshot (YAML list, JSON document with `images`, or CSV); strict. */
export function parseSnapshot(text: string, where: string): SnapshotDocument {
  if (text.startsWith(`${CSV_HEADER}\n`) || text === CSV_HEADER) return parseCsv(text, where);
  let value: unknown;
  try {
    value = YAML.parse(text, { schema: 'core', uniqueKeys: true, strict: true, prettyErrors: false });
  } catch (err) {
    throw invalid(where, `not valid YAML or JSON: ${messageOf(err).split('\n')[0] ?? ''}`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const extra = Object.keys(obj).filter((k) => !['images', 'ok', 'source'].includes(k));
    if (extra.length > 0) throw invalid(where, `unknown field(s) ${extra.join(', ')} in the JSON document`);
    value = obj.images;
  }
  if (!Array.isArray(value)) throw invalid(where, 'expected a list of images (- name: …, dmap: …)');
  const set = new ImageSet();
  const tagOwner = new Map<string, string>();
  const names = new Set<string>();
  value.forEach((item: unknown, i) => {
    const at = `image ${i + 1}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw invalid(where, `${at} is not a mapping`);
    const obj = item as Record<string, unknown>;
    const extra = Object.keys(obj).filter((k) => k !== 'name' && k !== 'dmap');
    if (extra.length > 0) throw invalid(where, `${at} has unknown field(s) ${extra.join(', ')}`);
    const name = obj.name;
    if (typeof name !== 'string' || !isRepositoryPath(name))
      throw invalid(where, `${at}: name ${JSON.stringify(name)} is not a repository path`);
    if (names.has(name)) throw invalid(where, `${at}: ${name} is listed a second time`);
    names.add(name);
    const dmap = obj.dmap;
    if (typeof dmap !== 'object' || dmap === null || Array.isArray(dmap))
      throw invalid(where, `${name}: dmap is not a mapping of digest to tags`);
    for (const [digest, tags] of Object.entries(dmap as Record<string, unknown>)) {
      if (!Array.isArray(tags)) throw invalid(where, `${name}: the tags of ${digest} are not a list`);
      addChecked(set, tagOwner, where, name, digest, tags);
    }
  });
  return snapshotFromSet(set);
}

/** Adds one digest with its tags; a tag may name one digest of a name, once. */
function addChecked(
  set: ImageSet,
  tagOwner: Map<string, string>,
  at: string,
  name: string,
  digest: string,
  tags: unknown[],
): void {
  if (!isDigest(digest)) throw invalid(at, `${name}: ${JSON.stringify(digest)} is not a sha256 digest`);
  for (const t of tags) {
    if (typeof t !== 'string' || !isTag(t))
      throw invalid(at, `${name}@${digest}: ${JSON.stringify(t)} is not a tag`);
    const owner = tagOwner.get(`${name}:${t}`);
    if (owner !== undefined) {
      throw invalid(
        at,
        owner === digest ? `${name}@${digest} lists tag ${t} twice` : `tag ${name}:${t} names two digests`,
      );
    }
    tagOwner.set(`${name}:${t}`, digest);
  }
  set.add({ name, digest, tags: tags as string[] });
}

function parseCsv(text: string, where: string): SnapshotDocument {
  const set = new ImageSet();
  const tagOwner = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(',');
    const [name, digest, tag] = cells;
    if (cells.length !== 3 || name === undefined || digest === undefined || tag === undefined)
      throw invalid(`${where} line ${i + 2}`, 'not name,digest,tag');
    if (!isRepositoryPath(name))
      throw invalid(`${where} line ${i + 2}`, `${JSON.stringify(name)} is not a repository path`);
    addChecked(set, tagOwner, `${where} line ${i + 2}`, name, digest, tag === '' ? [] : [tag]);
  });
  return snapshotFromSet(set);
}

/** Reads and parses a snapshot file; E_IO when unreadable, E_SNAPSHOT_INVALID when damaged. */
export async function readSnapshotFile(path: string): Promise<SnapshotDocument> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw invalid(path, 'not a regular file');
      if (st.size > MAX_SNAPSHOT_BYTES)
        throw invalid(path, `${st.size} bytes, more than the ${MAX_SNAPSHOT_BYTES} bale reads`);
      text = new TextDecoder('utf-8', { fatal: true }).decode(await fh.readFile());
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof BaleError) throw err;
    if (err instanceof TypeError) throw invalid(path, 'not UTF-8 text');
    throw new BaleError('E_IO', `cannot read snapshot file ${path}: ${messageOf(err)}`, {
      hint: 'Check the path; make the file with bale snapshot.',
      details: { file: path },
    });
  }
  return parseSnapshot(text, path);
}
