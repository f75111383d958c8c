/**
 * Image references: `host[:port]/path[:tag][@sha256:hex]`, following the grammar of
 * distribution/reference (github.com/distribution/reference), with Docker Hub's
 * defaults (`docker.io`, `library/`). Only sha256 digests are accepted.
 */
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';

export interface ImageReference {
  /** Registry host as the user names it: `quay.io`, `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** Repository path without the host: `openshift-release-dev/ocp-release`, `library/ubuntu`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** Where requests for `docker.io` actually go. */
export const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const MAX_NAME_LENGTH = 255;

function invalid(input: string, why: string, hint?: string): BaleError {
  return new BaleError('E_REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${why}`, {
    hint:
      hint ??
      'An image reference looks like host[:port]/path/name[:tag][@sha256:<64 hex>], e.g. quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64.',
    details: { reference: input },
  });
}

/** True when `value` is a valid tag (`[\w][\w.-]{0,127}`). */
export function isTag(value: string): boolean {
  return TAG_RE.test(value);
}

/** True when `value` is a valid repository path (lowercase components, `/`-separated). */
export function isRepositoryPath(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= MAX_NAME_LENGTH &&
    value.split('/').every((c) => PATH_COMPONENT_RE.test(c))
  );
}

/** Throws E_REFERENCE unless `repo.repository` is a valid repository path. */
export function checkRepo(repo: { repository: string }): void {
  if (!isRepositoryPath(repo.repository)) {
    throw new BaleError('E_REFERENCE', `invalid repository name ${JSON.stringify(repo.repository)}`, {
      hint: 'Repository path components are lowercase letters and digits, separated by ., _, __ or dashes.',
    });
  }
}

/** Throws E_REFERENCE unless `reference` is a tag or a sha256 digest. */
export function checkManifestReference(reference: string): void {
  if (!isDigest(reference) && !isTag(reference)) {
    throw new BaleError('E_REFERENCE', `${JSON.stringify(reference)} is neither a tag nor a sha256 digest`, {
      hint: 'A tag is 1 to 128 characters of letters, digits, _, . and -; a digest is sha256:<64 hex>.',
    });
  }
}

/** Parses a reference, applying Docker Hub defaults. Throws E_REFERENCE. */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw invalid(input, 'it is empty');
  if (/\s/.test(input)) throw invalid(input, 'it contains white space');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw invalid(
      input,
      'it has a URL scheme',
      'Leave out the scheme (https://, docker://): name the image as host/path:tag.',
    );
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) {
      throw invalid(
        input,
        `${JSON.stringify(digest)} is not a sha256 digest`,
        'A digest is sha256: followed by 64 lowercase hex characters.',
      );
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) {
      throw invalid(
        input,
        `${JSON.stringify(tag)} is not a valid tag`,
        'A tag is 1 to 128 characters: letters, digits, _, . and -, not starting with . or -.',
      );
    }
  }
  if (rest.length === 0) throw invalid(input, 'the repository name is missing');

  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const firstIsDomain =
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['));
  if (firstIsDomain) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!DOMAIN_RE.test(registry))
      throw invalid(input, `${JSON.stringify(registry)} is not a valid registry host`);
  } else {
    registry = DOCKER_HUB;
    repository = rest;
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB;
  registry = registry.toLowerCase();
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  if (repository.length === 0) throw invalid(input, 'the repository name is missing');
  if (repository !== repository.toLowerCase() && isRepositoryPath(repository.toLowerCase())) {
    throw invalid(
      input,
      `repository name ${JSON.stringify(repository)} must be lowercase`,
      `Registries only accept lowercase repository names: use ${JSON.stringify(repository.toLowerCase())}.`,
    );
  }
  if (repository.length > MAX_NAME_LENGTH) {
    throw invalid(input, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw invalid(
        input,
        component.length === 0
          ? 'the repository path has an empty component'
          : `${JSON.stringify(component)} is not a valid repository path component`,
        'Repository path components are lowercase letters and digits, separated by ., _, __ or dashes.',
      );
    }
  }

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The canonical string form, always with the registry host. */
export function formatReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** What to ask the registry for: the digest if there is one, else the tag, else `latest`. */
export function referenceTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host requests go to (`docker.io` → `registry-1.docker.io`). */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** The host part of `host[:port]`, brackets removed for IPv6. */
export function registryHostname(registry: string): string {
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    return end > 0 ? registry.slice(1, end) : registry;
  }
  const colons = registry.split(':').length - 1;
  if (colons === 1) return registry.slice(0, registry.indexOf(':'));
  return registry; // bare IPv6 or no port
}

/** 127.0.0.0/8, ::1 and localhost, with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registryHostname(registry).toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
