/**
 * What can be checked from bundle.json alone, before any volume is read: every image,
 * tag and child the index names is an entry, and every blob entry's sha256 is the
 * digest in its name. Verify's completeness step reports the first part (after reading
 * the volumes); unpack's single pass runs both first and sends nothing before the
 * audit ends when either fails (a forged index is caught before any request).
 */
import { manifestEntryPath, parseV2Path } from '../entry-path.js';
import { releasesOf, type BundleIndex } from '../index-schema.js';
import type { Problem } from '../problem.js';

/** Every image, tag and child the index names is an entry of the bundle. */
export function checkIndexNames(index: BundleIndex, add: (p: Problem) => void): void {
  const has = new Set(index.entries.map((e) => e.path));
  const need = (repository: string, ref: string, what: string): void => {
    const path = manifestEntryPath(repository, ref);
    if (!has.has(path)) {
      add({
        code: 'E_BUNDLE_INCOMPLETE',
        entry: path,
        ...(ref.startsWith('sha256:') ? { digest: ref } : {}),
        message: `${what} ${repository}:${ref} is not in the bundle (no ${path})`,
      });
    }
  };
  for (const r of releasesOf(index)) {
    need(r.repository, r.digest, `release image ${r.version}`);
    need(r.repository, r.tag, `release tag of ${r.version}`);
  }
  for (const im of index.images) {
    need(im.repository, im.digest, `image ${im.name}`);
    for (const t of im.tags) need(im.repository, t, `tag of ${im.name}`);
    for (const c of im.children ?? []) need(im.repository, c, `child manifest of ${im.name}`);
  }
  if (index.graphData) {
    const g = index.graphData;
    need(g.repository, g.digest, 'graph-data image');
    need(g.repository, g.tag, 'graph-data tag');
    if (g.signatureDigest !== undefined) need(g.repository, g.signatureDigest, 'graph-data signature image');
    if (g.signatureTag !== undefined) need(g.repository, g.signatureTag, 'graph-data signature tag');
  }
}

/** The index's own consistency, before any volume is read (see above). */
export function indexPrecheck(index: BundleIndex): Problem[] {
  const problems: Problem[] = [];
  const add = (p: Problem): void => {
    problems.push(p);
  };
  checkIndexNames(index, add);
  for (const e of index.entries) {
    const at = parseV2Path(e.path);
    if (at?.kind !== 'blobs' || e.type !== 'file') continue;
    if (e.sha256 === undefined || `sha256:${e.sha256}` !== at.name) {
      add({
        code: 'E_BUNDLE_INVALID',
        entry: e.path,
        message: `${e.path}: bundle.json gives sha256 ${e.sha256 ?? '(none)'}, not the digest in its name`,
      });
    }
  }
  return problems;
}
