/**
 * A set of images in the image promoter's sense: image name (a repository path,
 * relative to a registry prefix) → manifest digest → tags. An entry may carry what is
 * known of its size: `bytes` (manifest, config, layers, and for an index its children)
 * and `blobs` (every blob and child manifest it needs), for plans that count bytes.
 */

export interface BlobRef {
  digest: string;
  size: number;
}

export interface SetImage {
  name: string;
  digest: string;
  /** Sorted, unique; empty for an untagged digest (e.g. a child of a manifest list). */
  tags: string[];
  /** Total bytes when known. */
  bytes?: number;
  /** The blobs (and child manifests) it needs, when known. */
  blobs?: BlobRef[];
}

export function imageKey(name: string, digest: string): string {
  return `${name}@${digest}`;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorting by UTF-16 code units (not locale): the same order on every machine. */
export const compareStrings = byCodeUnits;

export function compareImages(
  a: { name: string; digest: string },
  b: { name: string; digest: string },
): number {
  return byCodeUnits(a.name, b.name) || byCodeUnits(a.digest, b.digest);
}

export class ImageSet {
  private readonly entries = new Map<string, { image: SetImage; tags: Set<string> }>();

  constructor(images: Iterable<SetImage> = []) {
    for (const im of images) this.add(im);
  }

  /** Adds an image; the same name and digest again merges tags, and keeps sizes already known. */
  add(image: SetImage): void {
    const key = imageKey(image.name, image.digest);
    const known = this.entries.get(key);
    if (known === undefined) {
      this.entries.set(key, { image: { ...image }, tags: new Set(image.tags) });
      return;
    }
    for (const t of image.tags) known.tags.add(t);
    if (known.image.bytes === undefined && image.bytes !== undefined) known.image.bytes = image.bytes;
    if (known.image.blobs === undefined && image.blobs !== undefined) known.image.blobs = image.blobs;
  }

  has(name: string, digest: string): boolean {
    return this.entries.has(imageKey(name, digest));
  }

  get(name: string, digest: string): SetImage | undefined {
    const e = this.entries.get(imageKey(name, digest));
    return e === undefined ? undefined : withTags(e.image, e.tags);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Every image, sorted by name then digest, tags sorted. */
  images(): SetImage[] {
    return [...this.entries.values()].map((e) => withTags(e.image, e.tags)).sort(compareImages);
  }

  /** Every digest of any image (for blob-level questions: a manifest is a blob too). */
  digests(): Set<string> {
    return new Set([...this.entries.values()].map((e) => e.image.digest));
  }
}

function withTags(image: SetImage, tags: Set<string>): SetImage {
  return { ...image, tags: [...tags].sort(byCodeUnits) };
}
