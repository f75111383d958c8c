/**
 * bundle.json: the index of a bale bundle (format version 2). The README's
 * "Bundle format" section is the specification; keep both in step.
 *
 * Paths inside volumes are relative, '/'-separated, and start with one of
 * `v2/`, `config/`, `signatures/`, `manifests/`, `graph/`.
 *
 * Version 1 had one optional `release` instead of `releases` and no `graphs`: it is
 * still read (parseIndex turns `release` into `releases`), never written.
 */
import type { BundleSigstore } from './sigstore-index.js';

export type { BundleSigstore } from './sigstore-index.js';

export const BUNDLE_SCHEMA = 'bale.bundle/v2';
/** The schema before several releases per bundle: read, never written. */
export const BUNDLE_SCHEMA_V1 = 'bale.bundle/v1';

export interface BundleIndex {
  /** As read: pack writes BUNDLE_SCHEMA; a v1 bundle keeps its schema id. */
  schema: typeof BUNDLE_SCHEMA | typeof BUNDLE_SCHEMA_V1;
  baleVersion: string;
  /** ISO 8601, UTC. The only field that differs between two packs of the same inputs. */
  created: string;
  /** --volume-size in bytes: no volume file is larger. */
  volumeSize: number;
  /** Every release carried, in update order (empty for a --no-images bundle). Read with releasesOf(). */
  releases: BundleRelease[];
  /** Update-graph documents the releases were chosen from (`graph/<channel>-<arch>.json`). */
  graphs?: BundleGraph[];
  /** Every image carried (release, components, graph-data, signature image, --image). */
  images: BundleImage[];
  /** Release-image signatures kept (each verified at pack time). */
  signatures: BundleSignature[];
  graphData?: BundleGraphData;
  /** Sigstore signature artifacts carried (each also in `images`): src/bundle/sigstore-index.ts. */
  sigstore?: BundleSigstore[];
  /** Files under config/ and manifests/ that `unpack --apply-manifests` applies. */
  manifests: string[];
  /** An incremental bundle: what it relies on the destination holding without carrying it. */
  base?: BundleBase;
  volumes: BundleVolume[];
  entries: BundleEntry[];
}

export interface BundleRelease {
  version: string;
  /** oc's arch name: x86_64, aarch64, ppc64le, s390x, multi. */
  architecture: string;
  /** Digest of what the release pullspec resolves to (a manifest list for multi-arch). */
  digest: string;
  /** Where it came from: `<registry>/<repository>` (no tag, no digest). */
  source: string;
  /** Repository under v2/ (always `openshift/release`). */
  repository: string;
  /** Tag in that repository, `<version>-<arch>`. */
  tag: string;
}

/** An update-graph document carried so the far side can audit the choice of releases. */
export interface BundleGraph {
  /** Entry path, `graph/<channel>-<arch>.json`. */
  path: string;
  channel: string;
  /** Go naming, as the update service was asked (amd64, arm64, multi, …). */
  arch: string;
  /** The URL asked (no credentials) or the file read. */
  source: string;
  /** sha256 hex of the document (equal to its entry's). */
  sha256: string;
  /** Versions chosen from this graph. */
  releases: string[];
}

export interface BundleImage {
  /** Component name from image-references, or `release`, `graph-data`, `graph-data-signature`, or the pullspec for --image. */
  name: string;
  /** Where it came from: `<registry>/<repository>` (no tag, no digest). Used for mirror configuration. */
  source: string;
  /** Repository path under v2/. */
  repository: string;
  digest: string;
  mediaType: string;
  /** Bytes of the manifest, its config and layers, and for an index all its children. */
  size: number;
  tags: string[];
  /** For a manifest list / OCI index: the child manifest digests. */
  children?: string[];
}

export interface BundleSignature {
  /** The image digest this signature signs. */
  digest: string;
  /** Entry path, `signatures/sha256=<hex>/signature-<N>`. */
  path: string;
  /** Signer key ID, 16 upper-case hex. */
  keyId: string;
  userId?: string;
  /** docker-reference from the signed JSON. */
  identity: string;
  /** Store URL it was fetched from, or the signature image for graph-data. */
  source: string;
}

export interface BundleGraphData {
  revision: string;
  digest: string;
  source: string;
  repository: string;
  tag: string;
  signatureTag?: string;
  signatureDigest?: string;
  signatures: BundleSignature[];
}

/**
 * The base of an incremental bundle (`pack --have` / `--since`): where it came from and
 * every blob (config or layer) the bundle's manifests need that it does not carry. Every
 * manifest is always carried; only blobs are left out.
 */
export interface BundleBase {
  /** `snapshot`: a `bale snapshot` file; `bundle`: a previous bundle's bundle.json. */
  kind: 'snapshot' | 'bundle';
  /** File name (no directory) of the snapshot or bundle.json. */
  file: string;
  /** sha256 hex of that file. */
  sha256: string;
  /** When the base was made (a bundle's `created`), when known. */
  created?: string;
  digests: BundleBaseDigest[];
}

export interface BundleBaseDigest {
  digest: string;
  /** Repository (relative to the unpack prefix) it is expected in at the destination. */
  repository: string;
  size?: number;
  /** Other repositories of this bundle that need it: unpack mounts it there from `repository`. */
  mountTo?: string[];
}

export interface BundleVolume {
  /** File name in the bundle directory, `volume-NNN.tar.zst`. */
  name: string;
  size: number;
  sha256: string;
  entries: number;
}

export type BundleEntryType = 'file' | 'symlink' | 'hardlink';

export interface BundleEntry {
  path: string;
  type: BundleEntryType;
  /** Content bytes (0 for links). */
  size: number;
  /** sha256 hex of the content (files only). */
  sha256?: string;
  /** Volume holding the entry (absent when it is split into parts). */
  volume?: string;
  /** symlink: the link text (`sha256:<hex>`); hardlink: the path of the entry it links to. */
  linkTarget?: string;
  /** An entry larger than the volume size is split: `<path>.part-NNN` in consecutive volumes. */
  parts?: BundlePart[];
}

export interface BundlePart {
  volume: string;
  /** Entry path in the volume: `<path>.part-001`, … */
  path: string;
  /** Byte offset of this part in the whole entry. */
  offset: number;
  size: number;
  sha256: string;
}

/**
 * Every release the bundle carries. Code that reads releases goes through this one
 * function, so the index can carry several (an update path) without each reader
 * knowing how they are stored.
 */
export function releasesOf(index: Pick<BundleIndex, 'releases'>): BundleRelease[] {
  return index.releases;
}
