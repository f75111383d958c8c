/**
 * oc-mirror's `ImageSetConfiguration` (`apiVersion: mirror.openshift.io/v2alpha1`),
 * read strictly: an unknown field is an error naming its path, and the sections bale
 * does not carry (operators, helm, samples, kubeVirtContainer) are an error that says
 * so, never silently skipped.
 */
import semver from 'semver';
import { BaleError } from '../errors.js';
import { parseReference, type ImageReference } from '../registry/reference.js';
import {
  emptyImageSet,
  IMAGESET_ARCHITECTURES,
  type AdditionalImage,
  type BlockedImage,
  type ChannelRequest,
  type ImageSet,
} from './image-set.js';
import { YamlSource, type Field } from '../strict-yaml.js';

export const IMAGESET_API_VERSION = 'mirror.openshift.io/v2alpha1';
export const IMAGESET_KIND = 'ImageSetConfiguration';

const HINT = 'See the README, "Image sets", for the fields bale reads.';

const NOT_CARRIED = (what: string): string =>
  `bale does not carry ${what}; remove this section (bale carries releases and images named by reference)`;

/** Parses the text of an ImageSetConfiguration read from `file`. Throws E_IMAGESET_INVALID. */
export function parseImageSetConfiguration(text: string, file: string): ImageSet {
  const src = YamlSource.parse(text, file, { code: 'E_IMAGESET_INVALID', hint: HINT });
  return imageSetFromYaml(src);
}

/** The same, from an already parsed document (the loader sniffs the format first). */
export function imageSetFromYaml(src: YamlSource): ImageSet {
  const top = src.top();
  top.mapping(['apiVersion', 'kind', 'archiveSize', 'mirror']);
  const apiVersion = top.at('apiVersion').string();
  if (apiVersion !== IMAGESET_API_VERSION) {
    throw top
      .at('apiVersion')
      .fail(
        `is ${JSON.stringify(apiVersion)}; bale reads ${IMAGESET_API_VERSION}`,
        `Write the configuration for oc-mirror v2 (apiVersion: ${IMAGESET_API_VERSION}).`,
      );
  }
  const kind = top.at('kind').string();
  if (kind !== IMAGESET_KIND) throw top.at('kind').fail(`is ${JSON.stringify(kind)}, not ${IMAGESET_KIND}`);
  const archiveSize = top.at('archiveSize');
  if (archiveSize.present && (typeof archiveSize.value !== 'number' || !(archiveSize.value > 0))) {
    throw archiveSize.fail('must be a positive number of GiB');
  }

  const set = emptyImageSet('ImageSetConfiguration', src.file);
  const mirror = top.at('mirror');
  if (!mirror.present) throw mirror.fail('is required');
  mirror.mapping(['platform', 'additionalImages', 'blockedImages'], {
    operators: NOT_CARRIED('operator catalogs'),
    helm: NOT_CARRIED('Helm charts'),
    samples: NOT_CARRIED('sample images'),
  });
  readPlatform(mirror.at('platform'), set);
  set.additionalImages = mirror
    .at('additionalImages')
    .list()
    .map((f) => additionalImage(f));
  set.blockedImages = mirror
    .at('blockedImages')
    .list()
    .map((f) => blockedImage(f));
  if (set.channels.length === 0 && set.releases.length === 0 && set.additionalImages.length === 0) {
    throw mirror.fail(
      'names nothing to carry',
      'List release channels (mirror.platform.channels), a release (mirror.platform.release) or mirror.additionalImages.',
    );
  }
  return set;
}

function readPlatform(platform: Field, set: ImageSet): void {
  if (!platform.present) return;
  platform.mapping(['channels', 'architectures', 'graph', 'release', 'kubeVirtContainer']);
  if (platform.at('kubeVirtContainer').bool(false)) {
    throw platform.at('kubeVirtContainer').fail(NOT_CARRIED('the KubeVirt container image'));
  }
  const seen = new Map<string, number>();
  set.channels = platform
    .at('channels')
    .list()
    .map((f, i) => {
      const ch = channel(f);
      const key = `${ch.type}/${ch.name}`;
      const before = seen.get(key);
      if (before !== undefined) {
        throw f
          .at('name')
          .fail(`channel ${JSON.stringify(ch.name)} is listed twice (also at channels[${before}])`);
      }
      seen.set(key, i);
      return ch;
    });
  const release = platform.at('release');
  if (release.present) set.releases = [reference(release)];
  const archs = platform.at('architectures').list();
  for (const a of archs) {
    const name = a.string();
    if (!(IMAGESET_ARCHITECTURES as readonly string[]).includes(name)) {
      throw a.fail(
        `unknown architecture ${JSON.stringify(name)}`,
        `Use ${IMAGESET_ARCHITECTURES.join(', ')} (Go names, as oc-mirror does).`,
      );
    }
    if (set.architectures.includes(name))
      throw a.fail(`architecture ${JSON.stringify(name)} is listed twice`);
    set.architectures.push(name);
  }
  if (set.architectures.length === 0 && (set.channels.length > 0 || set.releases.length > 0)) {
    set.architectures = ['amd64'];
  }
  set.graph = platform.at('graph').bool(false);
}

function version(f: Field): string | undefined {
  if (!f.present) return undefined;
  // YAML reads 4.18 as a number: say so instead of guessing 4.18.0.
  if (typeof f.value === 'number') throw f.fail(`must be a full version in quotes, like "4.18.7"`);
  const v = f.string();
  if (semver.valid(v) !== v) throw f.fail(`${JSON.stringify(v)} is not a version like 4.18.7`);
  return v;
}

function channel(f: Field): ChannelRequest {
  f.mapping(['name', 'type', 'minVersion', 'maxVersion', 'shortestPath', 'full']);
  const name = f.at('name').string();
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name))
    throw f.at('name').fail(`${JSON.stringify(name)} is not a channel name`);
  const type = f.at('type').optString() ?? 'ocp';
  if (type !== 'ocp' && type !== 'okd')
    throw f.at('type').fail(`must be ocp or okd, not ${JSON.stringify(type)}`);
  const minVersion = version(f.at('minVersion'));
  const maxVersion = version(f.at('maxVersion'));
  const shortestPath = f.at('shortestPath').bool(false);
  const full = f.at('full').bool(false);
  if (minVersion !== undefined && maxVersion !== undefined && semver.gt(minVersion, maxVersion)) {
    throw f.at('minVersion').fail(`${minVersion} is above maxVersion ${maxVersion}`);
  }
  if (shortestPath && full) {
    throw f
      .at('full')
      .fail('cannot be combined with shortestPath', 'Choose one: the update path, or every release.');
  }
  return {
    name,
    type,
    ...(minVersion !== undefined ? { minVersion } : {}),
    ...(maxVersion !== undefined ? { maxVersion } : {}),
    shortestPath,
    full,
  };
}

function reference(f: Field): ImageReference {
  const text = f.string();
  try {
    return parseReference(text);
  } catch (err) {
    throw f.fail(
      err instanceof BaleError ? err.message : `${JSON.stringify(text)} is not an image reference`,
    );
  }
}

function additionalImage(f: Field): AdditionalImage {
  f.mapping(['name']);
  const text = f.at('name').string();
  return { reference: reference(f.at('name')), text };
}

function blockedImage(f: Field): BlockedImage {
  f.mapping(['name']);
  const pattern = f.at('name').string();
  try {
    return { pattern, regex: new RegExp(pattern) };
  } catch (err) {
    throw f
      .at('name')
      .fail(
        `${JSON.stringify(pattern)} is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`,
        'blockedImages[].name is a regular expression (JavaScript syntax) matched against each image reference.',
      );
  }
}
