/**
 * `ImageTagMirrorSet` (`config.openshift.io/v1`): tells a cluster that images pulled by
 * **tag** from `source` can be pulled from `mirrors`. The `ImageDigestMirrorSet` of
 * mirror-config.ts only applies to pulls by digest; content that a workload names by tag
 * (additional images from a config) needs this one as well.
 *
 * Same conventions as mirror-config.ts (which it reuses for validation and ordering):
 * entries grouped by source and sorted, mirrors in first-given order without duplicates,
 * names checked before anything reaches a cluster. Stricter in one way: a tag mirror
 * redirects mutable names, so both sources and mirrors must be repositories — a whole
 * registry (`quay.io`) or a wildcard (`*.example.com`) is refused, so that one entry can
 * never redirect every tag pull from a registry.
 *
 * `mirrorSourcePolicy: NeverContactSource` (openshift/api ImageTagMirrors) is added only
 * when asked: with it, a tag missing from the mirror fails instead of reaching out.
 */
import { BaleError } from '../errors.js';
import { mirrorEntries, type MirrorSource } from './mirror-config.js';
import { validateObjectName } from './names.js';

export const DEFAULT_TAG_MIRROR_SET_NAME = 'bale-tag-mirror';

export interface TagMirrorEntry {
  source: string;
  mirrors: string[];
  mirrorSourcePolicy?: 'NeverContactSource' | 'AllowContactingSource';
}

export interface ImageTagMirrorSet {
  apiVersion: 'config.openshift.io/v1';
  kind: 'ImageTagMirrorSet';
  metadata: { name: string };
  spec: { imageTagMirrors: TagMirrorEntry[] };
}

function checkRepositoryOnly(value: string, what: 'source' | 'mirror'): void {
  const slash = value.indexOf('/');
  if (value.startsWith('*.') || slash < 0 || slash === value.length - 1) {
    throw new BaleError(
      'E_REFERENCE',
      `tag mirror ${what} "${value}" is a whole registry, not a repository`,
      {
        hint: 'Name a repository such as quay.io/example/app: a tag mirror for a whole registry would redirect every tag pull from it.',
        details: { [what]: value },
      },
    );
  }
}

export function tagMirrorSet(opts: {
  sources: readonly MirrorSource[];
  name?: string;
  neverContactSource?: boolean;
}): ImageTagMirrorSet {
  const name = opts.name ?? DEFAULT_TAG_MIRROR_SET_NAME;
  validateObjectName(name, 'tag mirror set name');
  if (opts.sources.length === 0) {
    throw new BaleError('E_USAGE', 'no mirror sources given for the ImageTagMirrorSet', {
      hint: 'Pass at least one source/mirror pair for content referenced by tag.',
    });
  }
  for (const s of opts.sources) {
    // Type and syntax first (mirrorEntries), so a malformed value gets its own message.
    mirrorEntries([s]);
    checkRepositoryOnly(s.source, 'source');
    checkRepositoryOnly(s.mirror, 'mirror');
  }
  const entries = mirrorEntries(opts.sources);
  return {
    apiVersion: 'config.openshift.io/v1',
    kind: 'ImageTagMirrorSet',
    metadata: { name },
    spec: {
      imageTagMirrors: entries.map((e) => ({
        source: e.source,
        mirrors: [...e.mirrors],
        ...(opts.neverContactSource === true ? { mirrorSourcePolicy: 'NeverContactSource' as const } : {}),
      })),
    },
  };
}
