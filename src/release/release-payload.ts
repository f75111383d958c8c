/**
 * The release payload: reading `release-manifests/` from a release image's last layer
 * and validating it (formats.md §1). This module gathers the pieces, one file each.
 */
export {
  readReleasePayload,
  IMAGE_REFERENCES_PATH,
  RELEASE_METADATA_PATH,
  MAX_PAYLOAD_FILE_BYTES,
  type ReleasePayloadFiles,
} from './read-payload.js';
export {
  parseRelease,
  type ReleaseComponent,
  type ReleaseInfo,
  type ReleaseMetadata,
} from './parse-release.js';
export { ocArch, releaseArchitecture, releaseTag, componentTag, isValidTag, MAX_TAG_LENGTH } from './arch.js';
export { parsePinnedReference, type PinnedReference } from './pinned-reference.js';
export {
  sniffCompression,
  peekCompression,
  decompressor,
  type LayerCompression,
} from './layer-decompress.js';
