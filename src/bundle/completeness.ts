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
      if (!has(blobEntryPath(at.repository, d))) {
        add({
          code: 'E_BUNDLE_INCOMPLETE',
          volume: e.volume,
          entry: e.path,
          digest: d,
          message: `manifest ${e.path} needs blob ${d}, which is not in the bundle (${blobEntryPath(at.repository, d)})`,
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
  // Everything the index names must be there.
  checkIndexNames(index, add);
}
