/**
 * The `oc` commands bale prints as next steps, built as argument vectors and shell-quoted
 * only at the end (shell-quote.ts), so a directory with spaces or quotes, or a `*` in a
 * tag pattern, reaches oc exactly as meant.
 *
 * `oc image mirror --from-dir=DIR 'file://REPO:PATTERN' DEST` reads oc's v2/ layout.
 * Unless told otherwise it does NOT copy manifest lists whole: oc's FilterOptions.Complete
 * (openshift/oc pkg/cli/image/manifest) defaults `--filter-by-os` to the platform oc runs
 * on (`linux/amd64`), and for a list with several children mirror copies only the match,
 * so the list's digest — the one the release names — never reaches the mirror.
 * `--keep-manifest-list=true` makes MirrorImageOptions.Complete
 * (pkg/cli/image/mirror/mirror.go) set the filter to `.*`, which it then treats as "keep
 * every list and every child": the flag help says it "is equivalent to setting
 * --filter-by-os to '.*' since you cannot preserve the manifest list digest while
 * filtering out any of the manifests included in the list". Only that flag is passed;
 * adding a non-wildcard `--filter-by-os` next to it is refused by oc's Validate.
 *
 * `oc adm upgrade --allow-explicit-upgrade --to-image=IMAGE@sha256:…` moves the cluster
 * to the mirrored release by digest. `--force` (which skips the cluster's signature
 * check) is never printed.
 */
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { shellJoin } from './shell-quote.js';

/** The destination to print when the mirror registry is not known yet; the operator replaces it. */
export const MIRROR_DESTINATION_PLACEHOLDER = 'REGISTRY/REPOSITORY';
export const KEEP_MANIFEST_LIST_FLAG = '--keep-manifest-list=true';

const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
/** A tag, or a tag prefix ending in `*` (oc's wildcard), or `*` alone. */
const TAG_PATTERN_RE = /^(?:[\w][\w.-]{0,127}\*?|\*)$/;

export interface OcImageMirrorOptions {
  /** The directory that holds `v2/` (what `unpack --to-dir` or `oc adm release mirror --to-dir` wrote). */
  fromDir: string;
  /** Repository path inside `v2/`, e.g. `openshift/release`. */
  repository: string;
  /** Tags to mirror: `4.18.1*` (the release and its components), `sha256-*` (Sigstore `.sig` tags). */
  tagPattern: string;
  /** Target repository with its registry, or MIRROR_DESTINATION_PLACEHOLDER. */
  destination: string;
  /** `--registry-config` (`-a`): credentials for the mirror registry. */
  registryConfig?: string;
  /** `--insecure=true`: the mirror speaks plain HTTP or has an untrusted certificate. */
  insecure?: boolean;
}

function usage(message: string, hint: string, details: Record<string, unknown>): BaleError {
  return new BaleError('E_USAGE', message, { hint, details });
}

function checkDestination(destination: string): void {
  if (destination === MIRROR_DESTINATION_PLACEHOLDER) return;
  const ref = parseReference(destination);
  if (ref.tag !== undefined || ref.digest !== undefined || formatReference(ref) !== destination) {
    throw new BaleError('E_REFERENCE', `oc image mirror destination "${destination}" is not a repository`, {
      hint: 'Give the mirror repository in full, e.g. mirror.example.com:5000/ocp4/openshift/release, without tag or digest.',
      details: { destination },
    });
  }
}

/** The argument vector of one `oc image mirror` from a directory, keeping every list and child. */
export function ocImageMirrorArgs(opts: OcImageMirrorOptions): string[] {
  if (opts.fromDir.length === 0 || opts.fromDir.includes('\n') || opts.fromDir.includes('\0')) {
    throw usage(
      'the directory for oc image mirror --from-dir is empty or has a line break',
      'Give the directory that holds v2/.',
      {
        fromDir: opts.fromDir,
      },
    );
  }
  if (!REPOSITORY_RE.test(opts.repository)) {
    throw usage(
      `"${opts.repository}" is not a repository path inside v2/`,
      'Use the path under v2/, e.g. openshift/release.',
      {
        repository: opts.repository,
      },
    );
  }
  if (!TAG_PATTERN_RE.test(opts.tagPattern)) {
    throw usage(
      `"${opts.tagPattern}" is not a tag or tag pattern`,
      'Use a tag, a tag prefix ending in *, or *.',
      {
        tagPattern: opts.tagPattern,
      },
    );
  }
  checkDestination(opts.destination);
  return [
    'oc',
    'image',
    'mirror',
    KEEP_MANIFEST_LIST_FLAG,
    `--from-dir=${opts.fromDir}`,
    ...(opts.registryConfig !== undefined ? [`--registry-config=${opts.registryConfig}`] : []),
    ...(opts.insecure === true ? ['--insecure=true'] : []),
    `file://${opts.repository}:${opts.tagPattern}`,
    opts.destination,
  ];
}

export function ocImageMirrorCommand(opts: OcImageMirrorOptions): string {
  return shellJoin(ocImageMirrorArgs(opts));
}

/**
 * The commands that carry one release from a directory into a mirror repository: the
 * release and its components (`<version>*`, as `oc adm release mirror --to-dir` prints),
 * and, with `signatures`, the Sigstore `.sig` artifacts (`sha256-*`) next to them.
 */
export function ocMirrorReleaseCommands(
  opts: Omit<OcImageMirrorOptions, 'tagPattern'> & { version: string; signatures?: boolean },
): string[] {
  const patterns = [`${opts.version}*`, ...(opts.signatures === true ? ['sha256-*'] : [])];
  const { version: _version, signatures: _signatures, ...rest } = opts;
  return patterns.map((tagPattern) => ocImageMirrorCommand({ ...rest, tagPattern }));
}

/** `oc adm upgrade` to a mirrored release named by digest (never `--force`). */
export function ocAdmUpgradeArgs(opts: { image: string }): string[] {
  const ref = parseReference(opts.image);
  if (ref.digest === undefined || !isDigest(ref.digest) || ref.tag !== undefined) {
    throw new BaleError(
      'E_REFERENCE',
      `release image "${opts.image}" for oc adm upgrade is not pinned by digest alone`,
      {
        hint: 'Upgrade to the mirrored release by digest, e.g. mirror.example.com:5000/ocp4/openshift/release@sha256:<64 hex>.',
        details: { image: opts.image },
      },
    );
  }
  return ['oc', 'adm', 'upgrade', '--allow-explicit-upgrade', `--to-image=${formatReference(ref)}`];
}

export function ocAdmUpgradeCommand(opts: { image: string }): string {
  return shellJoin(ocAdmUpgradeArgs(opts));
}
