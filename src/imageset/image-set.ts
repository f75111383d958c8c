/**
 * The image-set model: what one `bale pack --config FILE` carries, whichever of the
 * formats it was written in (oc-mirror's ImageSetConfiguration, the image
 * promoter's plain manifest or thin-manifest directory). Every parser produces this;
 * the pack workflow consumes it.
 */
import type { ImageReference } from '../registry/reference.js';
import type { PinnedReference } from '../release/pinned-reference.js';

/** Where a channel's releases come from: OpenShift (`ocp`) or OKD (`okd`). */
export type ChannelType = 'ocp' | 'okd';

/** A release channel and the part of it to carry (see the README, "Update paths"). */
export interface ChannelRequest {
  /** e.g. `stable-4.18`. */
  name: string;
  type: ChannelType;
  /** Lowest version to carry; default: the lowest of the channel with `full`, else maxVersion or the channel head. */
  minVersion?: string;
  /** Highest version to carry; default: the channel head. */
  maxVersion?: string;
  /** Only the releases on the shortest update path from minVersion to maxVersion. */
  shortestPath: boolean;
  /** Every release of the channel between the bounds (without it and without bounds: the head only). */
  full: boolean;
}

/**
 * An image as the promoter lists it: pinned by digest in the source registry, with
 * the tags of its dmap, carried to `<mirror prefix>/<name>`.
 */
export interface PromotedImage {
  /** `<source registry entry>/<name>@<digest>`. */
  source: PinnedReference;
  /** Repository relative to the source registry entry, and in the bundle and the mirror. */
  name: string;
  /** Tags from the dmap (may be empty: the image is carried by digest only). */
  tags: string[];
  /** The file that lists it. */
  file: string;
}

/** An additional image: a reference by digest or by tag (resolved to a digest at pack time). */
export interface AdditionalImage {
  reference: ImageReference;
  /** As written in the file. */
  text: string;
}

/** A blocked-image rule: images whose reference matches are not carried. */
export interface BlockedImage {
  /** As written in the file. */
  pattern: string;
  regex: RegExp;
}

export type ImageSetFormat = 'ImageSetConfiguration' | 'promoter-manifest' | 'promoter-thin-manifests';

export interface ImageSet {
  format: ImageSetFormat;
  /** The file or directory it was read from. */
  source: string;
  channels: ChannelRequest[];
  /** Releases named explicitly (`mirror.platform.release`). */
  releases: ImageReference[];
  /** Go architecture names (`amd64`, `arm64`, `ppc64le`, `s390x`, `multi`); default `amd64` when releases are wanted. */
  architectures: string[];
  /** Carry the update graph the channels were resolved against. */
  graph: boolean;
  additionalImages: AdditionalImage[];
  blockedImages: BlockedImage[];
  promotedImages: PromotedImage[];
}

/** The architectures an update graph and a release payload can have (Go naming). */
export const IMAGESET_ARCHITECTURES = ['amd64', 'arm64', 'ppc64le', 's390x', 'multi'] as const;

/** An empty set of the given format, for parsers to fill. */
export function emptyImageSet(format: ImageSetFormat, source: string): ImageSet {
  return {
    format,
    source,
    channels: [],
    releases: [],
    architectures: [],
    graph: false,
    additionalImages: [],
    blockedImages: [],
    promotedImages: [],
  };
}

/** True when `ref` (formatted `registry/repository[:tag][@digest]`) matches a blocked-image rule. */
export function isBlocked(set: Pick<ImageSet, 'blockedImages'>, ref: string): BlockedImage | undefined {
  return set.blockedImages.find((b) => b.regex.test(ref));
}
