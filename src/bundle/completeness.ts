/**
 * Completeness of a bundle: every manifest's config, layers and children are entries,
 * every tag resolves, and every image, tag and child the index names is there.
 */
import { messageOf } from '../errors.js';
import { parseManifest } from '../registry/manifest.js';
import { blobEntryPath, manifestEntryPath, parseV2Path } from './entry-path.js';
import type { BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import { checkIndexNames } from './verify-steps/index-names.js';

/** Manifests, signatures and config files larger than this are not read into memory. */
export const MAX_SMALL_CONTENT = 4 * 1024 * 1024;

export function checkComplete(
  index: BundleIndex,
  content: Map<string, Buffer>,
  tooLarge: Set<string>,
  report: { checked: { tags: number; manifests: number } },
  add: (p: Problem) => void,
): void {
  const byPath = new Map(index.entries.map((e) => [e.path, e]));
  const has = (path: string): boolean => byPath.has(path);
  // An incremental bundle's base: blobs (never manifests) the destination holds instead
  // of the media, in the repositories the base names for them (unpack checks them there).
  const inBase = baseBlobs(index);
  const needed = new Set<string>(); // `repository@digest` of every blob a manifest needs
  for (const e of index.entries) {
    const at = parseV2Path(e.path);
    if (at === undefined || at.kind !== 'manifests') continue;
    if (e.type === 'symlink') {
      report.checked.tags++;
      const target = manifestEntryPath(at.repository, e.linkTarget ?? '');
      if (!has(target)) {
        add({
          code: 'E_BUNDLE_INCOMPLETE',
          volume: e.volume,
          entry: e.path,
          digest: e.linkTarget,
          message: `tag ${e.path} points to ${e.linkTarget}, which is not in the bundle`,
        });
      }
      continue;
    }
    if (e.type !== 'hardlink' || e.linkTarget === undefined) continue;
    report.checked.manifests++;
    const blob = e.linkTarget;
    if (tooLarge.has(blob)) {
      add({
        code: 'E_TOO_LARGE',
        volume: e.volume,
        entry: e.path,
        message: `manifest ${e.path} is larger than ${MAX_SMALL_CONTENT} bytes`,
      });
      continue;
    }
    const bytes = content.get(blob);
    if (bytes === undefined) continue; // its blob has a problem of its own, already reported
    let refs: { blobs: string[]; children: string[] };
    try {
      const m = parseManifest(bytes);
      refs = {
        blobs: [...(m.config ? [m.config.digest] : []), ...m.layers.map((l) => l.digest)],
        children: m.manifests.map((c) => c.digest),
      };
    } catch (err) {
      add({
        code: 'E_MANIFEST_INVALID',
        volume: e.volume,
        entry: e.path,
        digest: at.name,
        message: `${e.path}: ${messageOf(err)}`,
      });
      continue;
    }
    for (const d of refs.blobs) {
      needed.add(`${at.repository}@${d}`);
      if (!has(blobEntryPath(at.repository, d)) && !inBase.has(`${at.repository}@${d}`)) {
        add({
          code: 'E_BUNDLE_INCOMPLETE',
          volume: e.volume,
          entry: e.path,
          digest: d,
          message: `manifest ${e.path} needs blob ${d}, which is not in the bundle (${blobEntryPath(at.repository, d)})${index.base ? ` nor in its base for ${at.repository}` : ''}`,
        });
      }
    }
    for (const d of refs.children) {
      if (!has(manifestEntryPath(at.repository, d))) {
        add({
          code: 'E_BUNDLE_INCOMPLETE',
          volume: e.volume,
          entry: e.path,
          digest: d,
          message: `manifest list ${e.path} needs manifest ${d}, which is not in the bundle`,
        });
      }
    }
  }
  checkBaseUsed(index, needed, add);
  // Everything the index names must be there.
  checkIndexNames(index, add);
}

/** `repository@digest` of every blob the base says the destination holds (or gets mounted). */
export function baseBlobs(index: Pick<BundleIndex, 'base'>): Set<string> {
  const out = new Set<string>();
  for (const d of index.base?.digests ?? []) {
    for (const r of [d.repository, ...(d.mountTo ?? [])]) out.add(`${r}@${d.digest}`);
  }
  return out;
}

/**
 * Every base digest must be a blob some manifest of the bundle needs, in each repository
 * it is mounted to (or, without mounts, where it is expected): a base is never a way to
 * make unpack look for, or mount, anything the bundle's own manifests do not name.
 */
function checkBaseUsed(index: BundleIndex, needed: Set<string>, add: (p: Problem) => void): void {
  for (const d of index.base?.digests ?? []) {
    const repos = d.mountTo?.length ? d.mountTo : [d.repository];
    for (const r of repos) {
      if (needed.has(`${r}@${d.digest}`)) continue;
      add({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        digest: d.digest,
        message: `base lists ${d.digest} for ${r}, but no manifest of the bundle needs it there`,
      });
    }
  }
}
