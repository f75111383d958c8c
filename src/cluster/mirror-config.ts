/**
 * Cluster mirror configuration (formats.md §6): an `ImageDigestMirrorSet`
 * (config.openshift.io/v1) and its predecessor `ImageContentSourcePolicy`
 * (operator.openshift.io/v1alpha1) telling a cluster that images named by digest
 * under `source` can be pulled from `mirrors`.
 *
 * Output is deterministic: entries are grouped by source (duplicates merged) and
 * sorted by source; within an entry, mirrors keep the order they were first given
 * in (the order is the pull priority the cluster uses) with duplicates dropped.
 */
import { stringify } from 'yaml';
import { BaleError } from '../errors.js';
import { validateObjectName } from './names.js';

export interface MirrorSource {
  /** Repository the cluster asks for, e.g. `quay.io/openshift-release-dev/ocp-release`. */
  source: string;
  /** Repository that holds the same content, e.g. `mirror.example:5000/openshift/release`. */
  mirror: string;
}

export interface MirrorEntry {
  source: string;
  mirrors: string[];
}

export interface ImageDigestMirrorSet {
  apiVersion: 'config.openshift.io/v1';
  kind: 'ImageDigestMirrorSet';
  metadata: { name: string };
  spec: { imageDigestMirrors: MirrorEntry[] };
}

export interface ImageContentSourcePolicy {
  apiVersion: 'operator.openshift.io/v1alpha1';
  kind: 'ImageContentSourcePolicy';
  metadata: { name: string };
  spec: { repositoryDigestMirrors: MirrorEntry[] };
}

export const DEFAULT_MIRROR_CONFIG_NAME = 'bale-mirror';

// The patterns openshift/api puts on ImageDigestMirrors.source and .mirrors: a host
// (optionally a `*.` wildcard for sources only) with an optional port, then
// repository path components; no scheme, tag or digest.
const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*(?::[0-9]+)?`;
const PATH = '(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*';
const WILDCARD = `\\*(?:\\.${HOST_COMPONENT})+`;
const SOURCE_RE = new RegExp(`^(?:${WILDCARD}|${HOST}${PATH})$`);
const MIRROR_RE = new RegExp(`^${HOST}${PATH}$`);

function checkRepository(value: string, what: 'source' | 'mirror'): string {
  const re = what === 'source' ? SOURCE_RE : MIRROR_RE;
  if (typeof value !== 'string' || !re.test(value)) {
    throw new BaleError('E_REFERENCE', `invalid mirror ${what} "${String(value)}"`, {
      hint:
        what === 'source'
          ? 'Give a repository such as quay.io/openshift-release-dev/ocp-release (or a *.example.com wildcard), without scheme, tag or digest.'
          : 'Give a repository such as mirror.example.com:5000/openshift/release, without scheme, tag or digest.',
      details: { [what]: value },
    });
  }
  return value;
}

/** Group by source, merge and dedupe mirrors (first-seen order), sort by source. */
export function mirrorEntries(sources: readonly MirrorSource[]): MirrorEntry[] {
  const bySource = new Map<string, string[]>();
  for (const s of sources) {
    const source = checkRepository(s.source, 'source');
    const mirror = checkRepository(s.mirror, 'mirror');
    if (source === mirror) {
      throw new BaleError('E_REFERENCE', `mirror "${mirror}" is the same repository as its source`, {
        hint: 'Point the mirror at the repository in your mirror registry.',
        details: { source, mirror },
      });
    }
    const mirrors = bySource.get(source) ?? [];
    if (!mirrors.includes(mirror)) mirrors.push(mirror);
    bySource.set(source, mirrors);
  }
  return [...bySource.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((source) => ({ source, mirrors: [...(bySource.get(source) ?? [])] }));
}

export function mirrorConfig(opts: { sources: readonly MirrorSource[]; name?: string }): {
  idms: ImageDigestMirrorSet;
  icsp: ImageContentSourcePolicy;
} {
  const name = opts.name ?? DEFAULT_MIRROR_CONFIG_NAME;
  validateObjectName(name, 'mirror configuration name');
  if (opts.sources.length === 0) {
    throw new BaleError('E_USAGE', 'no mirror sources given for the mirror configuration', {
      hint: 'Pass at least one source/mirror pair.',
    });
  }
  const entries = mirrorEntries(opts.sources);
  return {
    idms: {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name },
      spec: { imageDigestMirrors: entries.map((e) => ({ source: e.source, mirrors: [...e.mirrors] })) },
    },
    icsp: {
      apiVersion: 'operator.openshift.io/v1alpha1',
      kind: 'ImageContentSourcePolicy',
      metadata: { name },
      spec: { repositoryDigestMirrors: entries.map((e) => ({ source: e.source, mirrors: [...e.mirrors] })) },
    },
  };
}

/** YAML for a file: key order kept, no line folding (base64 stays on one line). */
export function toYaml(obj: unknown): string {
  return stringify(obj, { lineWidth: 0, minContentWidth: 0 });
}
