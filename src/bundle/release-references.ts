/**
 * The release payload as the bundle carries it: the release image's last layer, read
 * back out of the volumes and checked against the digest its (signed) manifest names,
 * then parsed for `image-references` and `release-metadata`. This is the link of the
 * trust chain from a signed release digest to its component digests.
 *
 * Only the payload layer is read (re-reading its volume from the start up to it: pack
 * writes the release image's blobs first, so it sits near the start of volume-001).
 */
import { pipeline } from 'node:stream/promises';
import { HashingStream } from '../digest.js';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { parseManifest, type ParsedManifest } from '../registry/manifest.js';
import { parseRelease, type ReleaseInfo } from '../release/parse-release.js';
import { readReleasePayload } from '../release/read-payload.js';
import { blobEntryPath } from './entry-path.js';
import { releasesOf, type BundleRelease as IndexRelease } from './index-schema.js';
import type { OpenedBundle } from './open-bundle.js';

export interface BundleRelease {
  info: ReleaseInfo;
  /** The payload layer's digest (the last layer of the release image, or of its first child). */
  payloadLayer: string;
}

function parsed(bytes: Buffer | undefined, what: string): ParsedManifest {
  if (bytes === undefined) {
    throw new BaleError('E_BUNDLE_INCOMPLETE', `${what} is not in the bundle (or could not be read)`);
  }
  return parseManifest(bytes);
}

/**
 * Reads and parses the release payload of `rel` (default: the bundle's first release)
 * out of `bundle` (from `openBundle`, or verify's `bundleOf`). `manifestBytes(path)` gives
 * the verified bytes of a manifest blob entry (verify keeps them). Throws a BaleError
 * saying what is wrong: no manifest, no layers, a layer whose bytes do not match the
 * digest the manifest names, a payload that is not a release.
 */
export async function readBundleRelease(
  bundle: Pick<OpenedBundle, 'index' | 'openEntry'>,
  manifestBytes: (entryPath: string) => Buffer | undefined,
  rel: IndexRelease | undefined = releasesOf(bundle.index)[0],
  opts: { signal?: AbortSignal } = {},
): Promise<BundleRelease> {
  const { index } = bundle;
  if (rel === undefined) throw new BaleError('E_RELEASE_INVALID', 'the bundle has no release');
  const repo = rel.repository;
  let m = parsed(manifestBytes(blobEntryPath(repo, rel.digest)), `release manifest ${rel.digest}`);
  if (m.kind === 'index') {
    // A multi-arch release: every child carries the same payload; read the first one's.
    const child = m.manifests[0];
    if (child === undefined) throw new BaleError('E_RELEASE_INVALID', `release index ${rel.digest} is empty`);
    m = parsed(manifestBytes(blobEntryPath(repo, child.digest)), `release manifest ${child.digest}`);
  }
  const layer = m.layers.at(-1);
  if (layer === undefined) {
    throw new BaleError('E_RELEASE_INVALID', `release image ${rel.digest} has no layers`);
  }
  const path = blobEntryPath(repo, layer.digest);
  const entry = index.entries.find((e) => e.path === path && e.type === 'file');
  if (entry === undefined) {
    throw new BaleError('E_BUNDLE_INCOMPLETE', `the release payload layer ${path} is not in the bundle`);
  }
  // The bytes are hashed as they are read: whatever the volume holds now, only the bytes
  // the signed manifest names are parsed.
  const check = new HashingStream({ digest: layer.digest, size: entry.size, what: path });
  const source = bundle.openEntry(entry, opts);
  try {
    const [files] = await Promise.all([readReleasePayload(check), pipeline(source, check)]);
    const info = parseRelease(files.imageReferences, files.releaseMetadata, {
      architecture: rel.architecture,
    });
    return { info, payloadLayer: layer.digest };
  } catch (err) {
    source.destroy();
    check.destroy();
    opts.signal?.throwIfAborted();
    if (isBaleError(err)) throw err;
    throw new BaleError('E_RELEASE_INVALID', `cannot read the release payload ${path}: ${messageOf(err)}`);
  }
}
