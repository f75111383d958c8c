import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { decompressor, peekCompression } from './layer-decompress.js';

export const IMAGE_REFERENCES_PATH = 'release-manifests/image-references';
export const RELEASE_METADATA_PATH = 'release-manifests/release-metadata';
/** The payload's own verifier configuration (see verification-config.ts). */
export const VERIFICATION_CONFIG_PATH = 'release-manifests/0000_90_cluster-update-keys_configmap.yaml';

/** Largest payload file read into memory. Real ones are a few hundred KiB. */
export const MAX_PAYLOAD_FILE_BYTES = 16 * 1024 * 1024;

export interface ReleasePayloadFiles {
  imageReferences: Buffer;
  releaseMetadata: Buffer;
  /**
   * `release-manifests/0000_90_cluster-update-keys_configmap.yaml` (the payload's own
   * verifier configuration), only when asked for with `verificationConfig: true`, and
   * only when the payload has it (older or foreign payloads may not).
   */
  verificationConfig?: Buffer;
}

const WANTED: Readonly<Record<string, 'imageReferences' | 'releaseMetadata'>> = {
  [IMAGE_REFERENCES_PATH]: 'imageReferences',
  [RELEASE_METADATA_PATH]: 'releaseMetadata',
};

/** `./release-manifests/x`, `/release-manifests/x` and `release-manifests/x` name the same file. */
function normalizeEntryName(name: string): string {
  let n = name;
  for (;;) {
    if (n.startsWith('./')) n = n.slice(2);
    else if (n.startsWith('/')) n = n.slice(1);
    else return n;
  }
}

function invalid(message: string, hint: string, cause?: unknown): BaleError {
  return new BaleError('E_RELEASE_INVALID', message, { hint, cause });
}

async function readCapped(entry: AsyncIterable<unknown>, name: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const data of entry) {
    const chunk = data as Buffer;
    bytes += chunk.length;
    if (bytes > limit) throw tooLarge(name, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
}

function tooLarge(name: string, limit: number): BaleError {
  return new BaleError('E_RELEASE_INVALID', `release payload file ${name} is larger than ${limit} bytes`, {
    hint: 'This is not a genuine OpenShift release image (its payload files are small); check the release reference.',
    details: { entry: name, limit },
  });
}

/**
 * Reads the release payload files from the release image's last layer (a tar, plain,
 * gzip'd or zstd'd: sniffed from its magic bytes). Only `release-manifests/image-references`
 * and `release-manifests/release-metadata` are kept (each capped at 16 MiB), and with
 * `verificationConfig: true` the payload's verification ConfigMap when present; every other
 * entry is drained without buffering. The whole layer is read, so a truncated or corrupt
 * layer is an error even when both files came early. E_RELEASE_INVALID when either file
 * is missing (naming which) or the layer is not a readable tar; errors of `layer` itself
 * (a digest mismatch, a network failure) pass through unchanged.
 */
export async function readReleasePayload(
  layer: Readable,
  opts: { maxFileBytes?: number; verificationConfig?: boolean } = {},
): Promise<ReleasePayloadFiles> {
  const limit = opts.maxFileBytes ?? MAX_PAYLOAD_FILE_BYTES;
  const wanted: Readonly<Record<string, keyof ReleasePayloadFiles>> =
    opts.verificationConfig === true
      ? { ...WANTED, [VERIFICATION_CONFIG_PATH]: 'verificationConfig' }
      : WANTED;
  // An error of the layer stream itself (I/O, network, digest check) is reported as it is;
  // not the AbortError of its release after the decompressor or the tar reader failed first.
  let sourceError: unknown;
  let readerFailed = false;
  layer.once('error', (e: unknown) => {
    if (!readerFailed) sourceError ??= e;
  });
  const { compression, stream } = await peekCompression(layer);
  const extract = tar.extract();
  const unzip = decompressor(compression);
  for (const s of unzip === undefined ? [extract] : [unzip, extract]) {
    s.once('error', () => {
      readerFailed = true;
    });
  }
  const feeding = unzip === undefined ? pipeline(stream, extract) : pipeline(stream, unzip, extract);
  // Observed below; keep an early rejection from being reported as unhandled.
  feeding.catch(() => {});

  const found: Partial<ReleasePayloadFiles> = {};
  try {
    for await (const entry of extract) {
      const name = normalizeEntryName(entry.header.name);
      const key = wanted[name];
      const type = entry.header.type ?? 'file';
      if (key !== undefined && (type === 'file' || type === 'contiguous-file')) {
        if ((entry.header.size ?? 0) > limit) throw tooLarge(name, limit);
        // A later entry of the same name replaces an earlier one, as when a tar is unpacked.
        found[key] = await readCapped(entry, name, limit);
      } else {
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    // Prefer the cause upstream (the source or the decompressor) over its echo in the tar reader.
    const upstream = await feeding.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (sourceError !== undefined) throw sourceError;
    const first = isBaleError(err) ? err : (upstream ?? err);
    if (isBaleError(first)) throw first;
    throw invalid(
      `release payload layer is not a readable ${compression === 'none' ? '' : `${compression}-compressed `}tar: ${messageOf(first)}`,
      'The last layer of a release image must be a tar archive holding release-manifests/; check the release reference.',
      first,
    );
  }

  const missing = Object.entries(WANTED)
    .filter(([, key]) => found[key] === undefined)
    .map(([path]) => path);
  if (missing.length > 0 || found.imageReferences === undefined || found.releaseMetadata === undefined) {
    throw new BaleError('E_RELEASE_INVALID', `release payload layer has no ${missing.join(' and no ')}`, {
      hint: 'This image is not an OpenShift release image, or its last layer is not the payload layer; check the release reference.',
      details: { missing },
    });
  }
  return {
    imageReferences: found.imageReferences,
    releaseMetadata: found.releaseMetadata,
    ...(found.verificationConfig !== undefined ? { verificationConfig: found.verificationConfig } : {}),
  };
}
