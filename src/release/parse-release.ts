import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';
import { MAX_TAG_LENGTH, isValidTag } from './arch.js';
import { parsePinnedReference, type PinnedReference } from './pinned-reference.js';
import { IMAGE_REFERENCES_PATH, RELEASE_METADATA_PATH } from './read-payload.js';

export interface ReleaseComponent {
  /** The `spec.tags[].name` of the component (e.g. `cluster-version-operator`). */
  name: string;
  /** Where the component is, always pinned by digest. */
  image: PinnedReference;
}

export interface ReleaseInfo {
  /** The release version: `metadata.name` of the ImageStream, equal to release-metadata `version`. */
  version: string;
  /** oc naming: `x86_64`, `aarch64`, `ppc64le`, `s390x`, `multi`; `unknown` when not told. */
  architecture: string;
  components: ReleaseComponent[];
  /** The parsed release-metadata document (cincinnati-metadata-v0). */
  metadata: ReleaseMetadata;
}

export interface ReleaseMetadata {
  kind: 'cincinnati-metadata-v0';
  version: string;
  previous?: string[];
  next?: string[];
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

const HINT =
  'This is not a well-formed OpenShift release image; check the release reference, or report it to whoever built the release.';
const COMPONENT_NAME_RE = /^[A-Za-z0-9_.-]+$/;
const VERSION_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

function invalid(file: string, message: string, details: Record<string, unknown> = {}): BaleError {
  return new BaleError('E_RELEASE_INVALID', `${file}: ${message}`, {
    hint: HINT,
    details: { file, ...details },
  });
}

function parseJson(bytes: Buffer, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BaleError('E_RELEASE_INVALID', `${file}: not valid JSON (${(err as Error).message})`, {
      hint: HINT,
      cause: err,
      details: { file },
    });
  }
  if (!isObject(value)) throw invalid(file, 'not a JSON object');
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Validates the release payload files (formats.md §1) and returns the release's
 * components. `architecture` (oc naming, see `ocArch`/`releaseArchitecture`) comes from
 * the release image, not the payload; when it is not given, the release-metadata
 * annotation `release.openshift.io/architecture` is used, else `unknown`.
 * E_RELEASE_INVALID names the file and the offending entry.
 */
export function parseRelease(
  imageReferences: Buffer,
  releaseMetadata: Buffer,
  opts: { architecture?: string } = {},
): ReleaseInfo {
  const stream = parseJson(imageReferences, IMAGE_REFERENCES_PATH);
  if (stream['apiVersion'] !== 'image.openshift.io/v1') {
    throw invalid(
      IMAGE_REFERENCES_PATH,
      `apiVersion is ${JSON.stringify(stream['apiVersion'])}, expected "image.openshift.io/v1"`,
    );
  }
  if (stream['kind'] !== 'ImageStream') {
    throw invalid(IMAGE_REFERENCES_PATH, `kind is ${JSON.stringify(stream['kind'])}, expected "ImageStream"`);
  }
  const meta = stream['metadata'];
  const version = isObject(meta) ? meta['name'] : undefined;
  if (typeof version !== 'string' || version === '') {
    throw invalid(IMAGE_REFERENCES_PATH, 'metadata.name (the release version) is missing');
  }
  if (!VERSION_RE.test(version) || version.length > MAX_TAG_LENGTH) {
    throw invalid(
      IMAGE_REFERENCES_PATH,
      `release version ${JSON.stringify(version)} cannot be part of an image tag`,
      {
        version,
      },
    );
  }

  const md = parseJson(releaseMetadata, RELEASE_METADATA_PATH);
  if (md['kind'] !== 'cincinnati-metadata-v0') {
    throw invalid(
      RELEASE_METADATA_PATH,
      `kind is ${JSON.stringify(md['kind'])}, expected "cincinnati-metadata-v0"`,
    );
  }
  if (typeof md['version'] !== 'string') {
    throw invalid(RELEASE_METADATA_PATH, 'version is missing');
  }
  if (md['version'] !== version) {
    throw invalid(
      RELEASE_METADATA_PATH,
      `version ${JSON.stringify(md['version'])} differs from the version ${JSON.stringify(version)} in ${IMAGE_REFERENCES_PATH} (metadata.name)`,
      { metadataVersion: md['version'], imageStreamVersion: version },
    );
  }
  for (const key of ['previous', 'next'] as const) {
    if (md[key] !== undefined && !isStringArray(md[key])) {
      throw invalid(RELEASE_METADATA_PATH, `${key} is not a list of versions`);
    }
  }
  if (md['metadata'] !== undefined && !isObject(md['metadata'])) {
    throw invalid(RELEASE_METADATA_PATH, 'metadata is not an object');
  }
  const metadata = md as ReleaseMetadata;

  let architecture = opts.architecture;
  if (architecture === undefined) {
    const annotated = metadata.metadata?.['release.openshift.io/architecture'];
    architecture = typeof annotated === 'string' && annotated !== '' ? annotated : 'unknown';
  }
  const prefix = `${version}-${architecture}-`;

  const spec = stream['spec'];
  const tags = isObject(spec) ? spec['tags'] : undefined;
  if (!Array.isArray(tags)) throw invalid(IMAGE_REFERENCES_PATH, 'spec.tags is missing');
  const components: ReleaseComponent[] = [];
  const seen = new Set<string>();
  tags.forEach((tag: unknown, i: number) => {
    const where = `spec.tags[${i}]`;
    if (!isObject(tag)) throw invalid(IMAGE_REFERENCES_PATH, `${where} is not an object`);
    const name = tag['name'];
    if (typeof name !== 'string' || name === '') throw invalid(IMAGE_REFERENCES_PATH, `${where} has no name`);
    const at = `${where} (${JSON.stringify(name)})`;
    if (!COMPONENT_NAME_RE.test(name) || !isValidTag(prefix + name)) {
      throw invalid(
        IMAGE_REFERENCES_PATH,
        `${at}: name cannot be part of the image tag "${prefix}<name>" (A-Z a-z 0-9 _ . - only, at most ${MAX_TAG_LENGTH} characters in all)`,
        { component: name },
      );
    }
    if (seen.has(name))
      throw invalid(IMAGE_REFERENCES_PATH, `${at} appears more than once`, { component: name });
    seen.add(name);
    const from = tag['from'];
    if (!isObject(from)) throw invalid(IMAGE_REFERENCES_PATH, `${at} has no "from"`, { component: name });
    if (from['kind'] !== 'DockerImage') {
      throw invalid(
        IMAGE_REFERENCES_PATH,
        `${at}: from.kind is ${JSON.stringify(from['kind'])}, expected "DockerImage"`,
        { component: name },
      );
    }
    const ref = from['name'];
    if (typeof ref !== 'string' || ref === '') {
      throw invalid(IMAGE_REFERENCES_PATH, `${at}: from.name is missing`, { component: name });
    }
    const image = parsePinnedReference(ref);
    if (image === undefined || !isDigest(image.digest)) {
      throw invalid(
        IMAGE_REFERENCES_PATH,
        `${at}: image ${JSON.stringify(ref)} is not pinned by a sha256 digest (<repository>@sha256:<64 hex>)`,
        { component: name, image: ref },
      );
    }
    components.push({ name, image });
  });

  return { version, architecture, components, metadata };
}
