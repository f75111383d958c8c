/**
 * Verify steps 1 and 2: bundle.json and SHA256SUMS (each checked against the other),
 * bundle.json.asc against SHA256SUMS, and what else is in the bundle directory.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { INDEX_FILE, INDEX_SIGNATURE_FILE, MAX_INDEX_BYTES, parseIndex } from '../bundle-index.js';
import type { BundleIndex } from '../index-schema.js';
import type { Problem } from '../problem.js';
import { SUMS_FILE, readSha256Sums, type SumLine } from '../sha256sums.js';
import { MAX_ASC_BYTES } from '../signature-checks.js';
import { readSmallRegularFile } from '../small-file.js';
import { sha256Hex } from '../../digest.js';
import { isBaleError, messageOf } from '../../errors.js';

/** bundle.json as read (raw bytes and parsed), and SHA256SUMS by file name. */
export interface BundleFiles {
  rawIndex?: Buffer;
  index?: BundleIndex;
  sums?: Map<string, string>;
}

/** Step 1: reads bundle.json and SHA256SUMS and checks them against each other. */
export async function readBundleFiles(
  dir: string,
  add: (p: Problem) => void,
  opts: { wholeBundle: boolean },
): Promise<BundleFiles> {
  const out: BundleFiles = {};
  try {
    out.rawIndex = await readSmallRegularFile(join(dir, INDEX_FILE), MAX_INDEX_BYTES, INDEX_FILE);
    out.index = parseIndex(out.rawIndex, INDEX_FILE);
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ENOENT';
    add({
      code: missing ? 'E_BUNDLE_INCOMPLETE' : isBaleError(err) ? err.code : 'E_IO',
      file: INDEX_FILE,
      message: missing
        ? `${INDEX_FILE} is missing: not a bale bundle, or an incomplete copy`
        : messageOf(err),
    });
  }
  try {
    const parsed = await readSha256Sums(dir);
    out.sums = new Map(parsed.lines.map((l: SumLine) => [l.name, l.sha256]));
    for (const p of parsed.problems)
      add({ code: 'E_BUNDLE_INVALID', file: SUMS_FILE, message: `${SUMS_FILE}: ${p}` });
  } catch (err) {
    add({ code: isBaleError(err) ? err.code : 'E_IO', file: SUMS_FILE, message: messageOf(err) });
  }
  const { rawIndex, index, sums } = out;
  if (rawIndex !== undefined && sums !== undefined) {
    const listed = sums.get(INDEX_FILE);
    const actual = sha256Hex(rawIndex);
    if (listed === undefined)
      add({ code: 'E_BUNDLE_INVALID', file: SUMS_FILE, message: `${SUMS_FILE} does not list ${INDEX_FILE}` });
    else if (listed !== actual) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        file: INDEX_FILE,
        message: `${INDEX_FILE} has sha256 ${actual}, ${SUMS_FILE} says ${listed}: it was changed or damaged`,
      });
    }
  }
  if (sums !== undefined && opts.wholeBundle) await checkSumsListing(dir, index, sums, add);
  return out;
}

/** Every name SHA256SUMS lists belongs to the bundle; bundle.json.asc matches its line. */
async function checkSumsListing(
  dir: string,
  index: BundleIndex | undefined,
  sums: Map<string, string>,
  add: (p: Problem) => void,
): Promise<void> {
  const volumeNames = index?.volumes.map((v) => v.name) ?? [];
  const known = new Set([INDEX_FILE, INDEX_SIGNATURE_FILE, ...volumeNames]);
  for (const name of sums.keys()) {
    if (!known.has(name) && index !== undefined) {
      add({
        code: 'E_BUNDLE_INVALID',
        file: SUMS_FILE,
        message: `${SUMS_FILE} lists ${name}, which bundle.json does not have`,
      });
    }
  }
  const asc = sums.get(INDEX_SIGNATURE_FILE);
  if (asc === undefined) return;
  try {
    const h = sha256Hex(
      await readSmallRegularFile(join(dir, INDEX_SIGNATURE_FILE), MAX_ASC_BYTES, INDEX_SIGNATURE_FILE),
    );
    if (h !== asc) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        file: INDEX_SIGNATURE_FILE,
        message: `${INDEX_SIGNATURE_FILE} does not match ${SUMS_FILE}`,
      });
    }
  } catch {
    add({
      code: 'E_BUNDLE_INCOMPLETE',
      file: INDEX_SIGNATURE_FILE,
      message: `${SUMS_FILE} lists ${INDEX_SIGNATURE_FILE}, which is missing`,
    });
  }
}

/** Step 2: the bundle directory holds only the bundle's files, all regular. */
export async function checkDirectory(
  dir: string,
  index: BundleIndex | undefined,
  ignored: readonly string[],
  add: (p: Problem) => void,
): Promise<void> {
  const volumeNames = index?.volumes.map((v) => v.name) ?? [];
  try {
    const ignore = new Set(ignored);
    const allowed = new Set([INDEX_FILE, SUMS_FILE, INDEX_SIGNATURE_FILE, ...volumeNames]);
    for (const d of await readdir(dir, { withFileTypes: true })) {
      if (ignore.has(d.name)) continue;
      // Without a readable index, any volume-NNN.tar.zst may belong.
      const maybeVolume = index === undefined && /^volume-\d{3,}\.tar\.zst$/.test(d.name);
      if (!allowed.has(d.name) && !maybeVolume) {
        add({
          code: 'E_BUNDLE_INVALID',
          file: d.name,
          message: `${d.name} is not part of the bundle (a bundle holds only bundle.json, ${SUMS_FILE}, ${INDEX_SIGNATURE_FILE} and its volumes)`,
        });
      } else if (!d.isFile()) {
        add({ code: 'E_BUNDLE_INVALID', file: d.name, message: `${d.name} is not a regular file` });
      }
    }
  } catch (err) {
    add({ code: 'E_IO', message: `cannot list ${dir}: ${messageOf(err)}` });
  }
}
