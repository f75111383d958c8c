/**
 * What pack, plan and mirror carry (pack's phase 0), from `--config FILE|DIR` (an image set: oc-mirror's
 * ImageSetConfiguration or the image promoter's manifests, src/imageset/) combined
 * with the flags. A bundle holds one release today: it is `--release` or the set's
 * `mirror.platform.release` (both only when they name the same image). Channels (update
 * paths) are not carried yet and are an error, never ignored. Images a blocked-image
 * rule matches are left out with a warning (a release component is an error in
 * collect-all.ts: a release cannot be carried without it).
 */
import { BaleError } from '../errors.js';
import { isBlocked, loadImageSetConfig, type ImageSet } from './index.js';
import type { Progress } from '../progress.js';
import { formatReference, parseReference, type ImageReference } from '../registry/reference.js';
import { ocArch } from '../release/arch.js';

/** The flags that name images (pack's, plan's and mirror's) and `--config`. */
export interface ImageInputOptions {
  release?: string;
  config?: string;
  images?: string[];
}

/** An image to carry besides the release: where it is read from, where it goes, its tags. */
export interface ExtraImage {
  /** For messages and the image's name in the plan. */
  name: string;
  reference: ImageReference;
  /** Repository under v2/ in the bundle (and in the mirror). */
  repository: string;
  tags: string[];
}

export interface PackInput extends ImageInput {
  release: string;
}

/** What the flags and `--config` name; plan and mirror take a set without a release. */
export interface ImageInput {
  /** The release pullspec. */
  release?: string;
  /** Images besides the release (`--image`, additionalImages, promoted images), not blocked. */
  images: ExtraImage[];
  /** The image set, when `--config` was given. */
  set?: ImageSet;
}

/** Reads `--config` (if given) and merges it with the flags; a release is required. */
export async function readPackInput(o: ImageInputOptions, progress: Progress): Promise<PackInput> {
  const input = await readImageInput(o, progress);
  if (input.release === undefined) throw noRelease(input.set);
  return { ...input, release: input.release };
}

/** Reads `--config` (if given) and merges it with the flags. */
export async function readImageInput(o: ImageInputOptions, progress: Progress): Promise<ImageInput> {
  const set = o.config !== undefined ? await loadImageSetConfig(o.config) : undefined;
  if (set !== undefined) refuseUnsupported(set);
  if (set?.graph === true) {
    progress.warn(
      `${set.source}: mirror.platform.graph: no channel is resolved, so there is no update graph to carry`,
    );
  }
  const release = pickRelease(o, set);
  const images: ExtraImage[] = [];
  const add = (img: ExtraImage): void => {
    const text = formatReference(img.reference);
    const rule = set && isBlocked(set, text);
    if (rule !== undefined) {
      progress.warn(`${text} is not carried: blockedImages ${JSON.stringify(rule.pattern)} matches it`);
      return;
    }
    images.push(img);
  };
  for (const spec of o.images ?? []) {
    const ref = parseReference(spec);
    add({ name: spec, reference: ref, repository: ref.repository, tags: ref.tag ? [ref.tag] : [] });
  }
  for (const a of set?.additionalImages ?? []) {
    const ref = a.reference;
    add({ name: a.text, reference: ref, repository: ref.repository, tags: ref.tag ? [ref.tag] : [] });
  }
  for (const p of set?.promotedImages ?? []) {
    add({ name: p.name, reference: p.source, repository: p.name, tags: p.tags });
  }
  return { ...(release !== undefined ? { release } : {}), images, ...(set ? { set } : {}) };
}

/** Parts of an image set bale reads but cannot carry yet: errors that name the field. */
function refuseUnsupported(set: ImageSet): void {
  if (set.channels.length > 0) {
    throw new BaleError(
      'E_CONFIG',
      `${set.source}: mirror.platform.channels (${set.channels.map((c) => c.name).join(', ')}): releases of a channel and update paths are not carried by this version of bale pack`,
      {
        hint: 'Name the release instead: mirror.platform.release or --release (one release per bundle).',
        details: { file: set.source, field: 'mirror.platform.channels' },
      },
    );
  }
  if (set.releases.length > 1) {
    throw new BaleError(
      'E_CONFIG',
      `${set.source}: ${set.releases.length} releases: a bundle carries one release in this version of bale pack`,
      { hint: 'Pack each release into a bundle of its own.', details: { file: set.source } },
    );
  }
  if (set.architectures.length > 1) {
    throw new BaleError(
      'E_CONFIG',
      `${set.source}: mirror.platform.architectures lists ${set.architectures.join(', ')}: one release, one architecture in this version of bale pack`,
      {
        hint: 'Keep the architecture of the release you name (or multi for a multi-arch payload).',
        details: { file: set.source, field: 'mirror.platform.architectures' },
      },
    );
  }
}

function pickRelease(o: ImageInputOptions, set: ImageSet | undefined): string | undefined {
  const fromSet = set?.releases[0];
  if (o.release !== undefined && fromSet !== undefined) {
    const a = parseReference(o.release);
    if (formatReference(a) !== formatReference(fromSet)) {
      throw new BaleError(
        'E_CONFIG',
        `--release ${o.release} and ${set!.source} mirror.platform.release ${formatReference(fromSet)} name two releases: a bundle carries one release in this version of bale pack`,
        { hint: 'Give one of them, or the same image in both.', details: { file: set!.source } },
      );
    }
  }
  return o.release ?? (fromSet && formatReference(fromSet));
}

function noRelease(set: ImageSet | undefined): BaleError {
  return new BaleError(
    'E_CONFIG',
    set
      ? `${set.source} names no release, and --release is not given: a bundle carries one release`
      : 'no release to pack: give --release or --config',
    {
      hint: 'Give --release with the release pullspec (or mirror.platform.release in an ImageSetConfiguration).',
      details: set ? { file: set.source } : {},
    },
  );
}

/** The release architecture (oc naming) must be the one the image set asks for, if it asks. */
export function checkArchitecture(set: ImageSet | undefined, architecture: string): void {
  const wanted = set?.architectures[0];
  if (wanted === undefined || ocArch(wanted) === architecture) return;
  throw new BaleError(
    'E_CONFIG',
    `${set!.source}: mirror.platform.architectures asks for ${wanted}, but the release is ${architecture}`,
    {
      hint: "Name the release of that architecture, or set mirror.platform.architectures to the release's (amd64 is the default when the field is absent).",
      details: { file: set!.source, field: 'mirror.platform.architectures' },
    },
  );
}
