/**
 * Phase 0: what this pack carries, from `--config FILE|DIR` (an image set: oc-mirror's
 * ImageSetConfiguration or the image promoter's manifests, src/imageset/) combined
 * with the flags: the releases named (`--release`, `mirror.platform.release`), the
 * channels to resolve against an update graph (plan-releases.ts), the architectures
 * (`--arch` over `mirror.platform.architectures`) and the other images. Images a
 * blocked-image rule matches are left out with a warning (a release component is an
 * error in collect-all.ts: a release cannot be carried without it).
 */
import { BaleError } from '../../errors.js';
import { isBlocked, loadImageSetConfig, type ImageSet } from '../../imageset/index.js';
import type { ChannelRequest } from '../../imageset/image-set.js';
import type { Progress } from '../../progress.js';
import { formatReference, parseReference, type ImageReference } from '../../registry/reference.js';
import { ocArch } from '../../release/arch.js';
import type { PackOptions } from './types.js';

/** An image to carry besides the release: where it is read from, where it goes, its tags. */
export interface ExtraImage {
  /** For messages and the image's name in the plan. */
  name: string;
  reference: ImageReference;
  /** Repository under v2/ in the bundle (and in the mirror). */
  repository: string;
  tags: string[];
}

export interface PackInput {
  /** Release pullspecs named explicitly (`--release`, `mirror.platform.release`), each once. */
  releases: string[];
  /** Channels whose releases are resolved against an update graph (plan-releases.ts). */
  channels: ChannelRequest[];
  /** Go names (`--arch` wins over the image set's); `amd64` when none is given. */
  architectures: string[];
  /** True when `--arch` or the image set named architectures (releases are then checked against them). */
  architecturesGiven: boolean;
  archFromFlag: boolean;
  /** Images besides the release (`--image`, additionalImages, promoted images), not blocked. */
  images: ExtraImage[];
  /** The image set, when `--config` was given. */
  set?: ImageSet;
}

/** Reads `--config` (if given) and merges it with the flags. */
export async function readPackInput(o: PackOptions, progress: Progress): Promise<PackInput> {
  const set = o.config !== undefined ? await loadImageSetConfig(o.config) : undefined;
  if (set?.graph === true && set.channels.length === 0) {
    progress.warn(
      `${set.source}: mirror.platform.graph: no channel is resolved, so there is no update graph to carry`,
    );
  }
  const releases = explicitReleases(o, set);
  requireSomeRelease(releases, set);
  const archFromFlag = (o.architectures?.length ?? 0) > 0;
  const given = archFromFlag ? o.architectures! : (set?.architectures ?? []);
  for (const a of given) ocArch(a); // an unknown name is an error before any connection
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
  return {
    releases,
    channels: set?.channels ?? [],
    architectures: given.length > 0 ? [...new Set(given)] : ['amd64'],
    architecturesGiven: given.length > 0,
    archFromFlag,
    images,
    ...(set ? { set } : {}),
  };
}

/** The release pullspecs named explicitly: `--release` and `mirror.platform.release`, each once. */
function explicitReleases(o: PackOptions, set: ImageSet | undefined): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (text: string): void => {
    const key = formatReference(parseReference(text));
    if (seen.has(key)) return;
    seen.add(key);
    out.push(text);
  };
  if (o.release !== undefined) add(o.release);
  for (const r of set?.releases ?? []) add(formatReference(r));
  return out;
}

/** Nothing to carry a release from is an error (extras alone need a release today). */
function requireSomeRelease(releases: string[], set: ImageSet | undefined): void {
  if (releases.length > 0 || (set?.channels.length ?? 0) > 0) return;
  throw new BaleError(
    'E_CONFIG',
    set
      ? `${set.source} names no release and no channel, and --release is not given`
      : 'no release to pack: give --release or --config',
    {
      hint: 'Give --release with the release pullspec, or mirror.platform.release / mirror.platform.channels in an ImageSetConfiguration.',
      details: set ? { file: set.source } : {},
    },
  );
}

/** A release's architecture (oc naming) must be one the image set or --arch asks for, if they ask. */
export function checkArchitecture(input: PackInput, architecture: string, what: string): void {
  const wanted = input.architectures;
  if (!input.architecturesGiven || wanted.some((a) => ocArch(a) === architecture)) return;
  const field =
    input.set && !input.archFromFlag ? `${input.set.source}: mirror.platform.architectures` : '--arch';
  throw new BaleError('E_CONFIG', `${field} asks for ${wanted.join(', ')}, but ${what} is ${architecture}`, {
    hint: "Name the release of that architecture, or list the release's architecture (amd64 is the default when none is given).",
    details: { ...(input.set ? { file: input.set.source } : {}), field: 'mirror.platform.architectures' },
  });
}
