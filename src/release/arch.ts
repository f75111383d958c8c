import { BaleError } from '../errors.js';

/**
 * Architecture names. Images name their architecture the Go way (`amd64`, `arm64`);
 * OpenShift release tags use oc's names (`x86_64`, `aarch64`), e.g. `4.18.7-x86_64`.
 */
const GO_TO_OC: Readonly<Record<string, string>> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  // A release that is a manifest list.
  multi: 'multi',
};

const OC_NAMES = new Set(Object.values(GO_TO_OC));

/** `amd64`→`x86_64`, `arm64`→`aarch64`, `ppc64le`, `s390x`, `multi`; oc names pass through unchanged. */
export function ocArch(goArch: string): string {
  const mapped = GO_TO_OC[goArch];
  if (mapped !== undefined) return mapped;
  if (OC_NAMES.has(goArch)) return goArch;
  throw new BaleError('E_RELEASE_INVALID', `unsupported release architecture ${JSON.stringify(goArch)}`, {
    hint: 'OpenShift releases are built for amd64, arm64, ppc64le, s390x, or as a multi-arch manifest list.',
    details: { architecture: goArch },
  });
}

/**
 * The oc architecture of a release image from its config blob (`architecture`, Go
 * naming). A release pulled as a manifest list is `multi`: pass `isIndex: true`.
 */
export function releaseArchitecture(input: { isIndex: true } | { config: Uint8Array }): string {
  if ('isIndex' in input) return 'multi';
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(input.config).toString('utf8'));
  } catch (err) {
    throw new BaleError('E_RELEASE_INVALID', 'release image config is not JSON', {
      hint: 'The release image is damaged or is not an image; check the reference.',
      cause: err,
    });
  }
  const arch =
    typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)['architecture']
      : undefined;
  if (typeof arch !== 'string' || arch === '') {
    throw new BaleError('E_RELEASE_INVALID', 'release image config has no "architecture"', {
      hint: 'A release image config names its architecture (amd64, arm64, ppc64le, s390x).',
    });
  }
  return ocArch(arch);
}

/** Longest image tag the distribution spec allows. */
export const MAX_TAG_LENGTH = 128;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** True when `tag` is a valid image tag (distribution spec: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return tag.length <= MAX_TAG_LENGTH && TAG_RE.test(tag);
}

function checkedTag(tag: string, what: string): string {
  if (!isValidTag(tag)) {
    throw new BaleError('E_RELEASE_INVALID', `${what} ${JSON.stringify(tag)} is not a valid image tag`, {
      hint: `Tags are at most ${MAX_TAG_LENGTH} characters of A-Z, a-z, 0-9, "_", "." and "-".`,
      details: { tag },
    });
  }
  return tag;
}

/** The tag oc gives the release image in a mirror: `<version>-<arch>` (oc arch naming). */
export function releaseTag(version: string, arch: string): string {
  return checkedTag(`${version}-${arch}`, 'release tag');
}

/** The tag oc gives a component in a mirror: `<version>-<arch>-<component name>`. */
export function componentTag(version: string, arch: string, name: string): string {
  return checkedTag(`${version}-${arch}-${name}`, `tag of component ${JSON.stringify(name)}`);
}
