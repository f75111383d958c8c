/**
 * What a bundle holds, as an image set, offline: from bundle.json, after checking it
 * against SHA256SUMS (the seal `bale verify` starts from) and bale's strict index
 * parser. Names are the bundle's repositories under `v2/`. With `verify`, the full
 * `verifyBundle` workflow (every volume, every entry, signatures) runs first and any
 * problem stops the snapshot.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { INDEX_FILE, MAX_INDEX_BYTES, parseIndex } from '../../bundle/bundle-index.js';
import type { BundleIndex } from '../../bundle/index-schema.js';
import { SUMS_FILE, readSha256Sums } from '../../bundle/sha256sums.js';
import { sha256Hex } from '../../digest.js';
import { BaleError, messageOf } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { ImageSet } from '../../sets/inventory.js';
import type { Keyring } from '../../signature/keyring.js';
import { verifyBundle } from '../../bundle/verify-bundle.js';

export interface BundleSnapshotOptions {
  bundleDir: string;
  minimal?: boolean;
  /** Run the full verification first (reads every volume). */
  verify?: { keyrings?: Keyring[]; progress?: Progress };
}

export async function collectBundleSet(o: BundleSnapshotOptions): Promise<ImageSet> {
  const dir = resolve(o.bundleDir);
  if (o.verify !== undefined) {
    const report = await verifyBundle(dir, {
      ...(o.verify.keyrings !== undefined ? { keyrings: o.verify.keyrings } : {}),
      ...(o.verify.progress !== undefined ? { progress: o.verify.progress } : {}),
    });
    if (!report.ok) {
      const first = report.problems[0];
      throw new BaleError(
        'E_VERIFY_FAILED',
        `${dir} failed verification (${report.problems.length} problem(s)${first ? `; first: ${first.message}` : ''})`,
        {
          hint: `Run bale verify ${dir} for the list, then get an intact copy.`,
          details: { problems: report.problems.length },
        },
      );
    }
  }
  return setFromIndex(await readSealedIndex(dir), Boolean(o.minimal));
}

/** bundle.json, checked against its line in SHA256SUMS, then parsed strictly. */
export async function readSealedIndex(dir: string): Promise<BundleIndex> {
  const path = join(dir, INDEX_FILE);
  let raw: Buffer;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new BaleError('E_BUNDLE_INVALID', `${path} is not a regular file`);
    if (st.size > MAX_INDEX_BYTES)
      throw new BaleError(
        'E_BUNDLE_INVALID',
        `${path} is ${st.size} bytes, more than the ${MAX_INDEX_BYTES} bale accepts`,
      );
    raw = await readFile(path);
  } catch (err) {
    if (err instanceof BaleError) throw err;
    const missing = (err as { code?: string }).code === 'ENOENT';
    throw new BaleError(
      missing ? 'E_BUNDLE_INCOMPLETE' : 'E_IO',
      missing ? `${path} does not exist: not a bale bundle` : `cannot read ${path}: ${messageOf(err)}`,
      {
        hint: 'Point bale at the directory that holds bundle.json, SHA256SUMS and the volumes.',
        details: { file: INDEX_FILE },
      },
    );
  }
  const sums = await readSha256Sums(dir);
  const listed = sums.lines.find((l) => l.name === INDEX_FILE)?.sha256;
  if (sums.problems.length > 0 || listed === undefined) {
    throw new BaleError('E_BUNDLE_INVALID', `${join(dir, SUMS_FILE)} does not list ${INDEX_FILE} properly`, {
      hint: 'The bundle is damaged or incomplete: copy it again, then run bale verify.',
      details: { file: SUMS_FILE, problems: sums.problems },
    });
  }
  const actual = sha256Hex(raw);
  if (actual !== listed) {
    throw new BaleError('E_BUNDLE_CORRUPT', `${path} does not match its checksum in ${SUMS_FILE}`, {
      hint: 'bundle.json was changed or damaged: copy the bundle again, then run bale verify.',
      details: { file: INDEX_FILE, expected: listed, actual },
    });
  }
  return parseIndex(raw, path);
}

export function setFromIndex(index: BundleIndex, minimal: boolean): ImageSet {
  const set = new ImageSet();
  for (const im of index.images) {
    set.add({ name: im.repository, digest: im.digest, tags: im.tags, bytes: im.size });
    if (!minimal)
      for (const child of im.children ?? []) set.add({ name: im.repository, digest: child, tags: [] });
  }
  return set;
}
