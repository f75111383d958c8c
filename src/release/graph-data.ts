import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { digestHex } from '../digest.js';
import { BaleError, isBaleError } from '../errors.js';
import type { RegistryClient, Repo } from '../registry/client.js';
import { parseImageConfig, parseManifest } from '../registry/manifest.js';
import { decompressor, peekCompression } from './layer-decompress.js';
import {
  collectManifest,
  pickPlatform,
  readSmallBlob,
  type BlobOpener,
  type ManifestNode,
} from '../registry/manifest-tree.js';
import type { SignatureCandidate } from '../signature/gather-signatures.js';

const MAX_SIGNATURE_BYTES = 50 * 1024;
const MAX_SIGNATURES = 9;

export interface GraphDataSource {
  src: Repo;
  tag: string;
  root: ManifestNode;
  revision: string;
  signatureTag: string;
  /** The signature image, when the repository has one. */
  signatureRoot?: ManifestNode;
  /** Signatures found in the signature image (not yet verified). */
  candidates: SignatureCandidate[];
}

/**
 * Resolves the Cincinnati graph-data image, reads its `source-revision` label, and takes
 * the `signature-<revision>` image of the same repository when there is one (formats.md §4).
 */
export async function resolveGraphData(
  client: RegistryClient,
  src: Repo,
  reference: string,
  openBlob?: BlobOpener,
): Promise<GraphDataSource> {
  const open: BlobOpener =
    openBlob ??
    ((repo, desc) => Promise.resolve(client.openBlob(repo, { digest: desc.digest, size: desc.size })));
  const root = await collectManifest(client, src, reference);
  const image = pickPlatform(root);
  const manifest = parseManifest(image.bytes, image.mediaType);
  if (!manifest.config)
    throw new BaleError(
      'E_MANIFEST_INVALID',
      `graph-data image ${src.registry}/${src.repository} has no config`,
    );
  const config = parseImageConfig(await readSmallBlob(client, src, manifest.config, open));
  const revision = config.labels['source-revision'];
  if (revision === undefined || !/^[A-Za-z0-9._-]{1,100}$/.test(revision)) {
    throw new BaleError(
      'E_RELEASE_INVALID',
      `graph-data image ${src.registry}/${src.repository} has no usable source-revision label`,
      {
        hint: 'The graph-data image must carry LABEL source-revision=<git revision>.',
      },
    );
  }
  const signatureTag = `signature-${revision}`;
  const tag = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(reference) ? reference : 'latest';
  let signatureRoot: ManifestNode | undefined;
  const candidates: SignatureCandidate[] = [];
  try {
    signatureRoot = await collectManifest(client, src, signatureTag);
  } catch (err) {
    if (!isBaleError(err, 'E_NOT_FOUND')) throw err;
  }
  if (signatureRoot) {
    const sigImage = parseManifest(pickPlatform(signatureRoot).bytes, pickPlatform(signatureRoot).mediaType);
    for (const layer of sigImage.layers) {
      const found = await readSignatureLayer(await open(src, layer), root.digest);
      for (const f of found)
        candidates.push({
          bytes: f.bytes,
          source: `${src.registry}/${src.repository}:${signatureTag}/${f.name}`,
        });
    }
  }
  return { src, tag, root, revision, signatureTag, signatureRoot, candidates };
}

/** Reads `sha256=<hex>/signature-N` files for `digest` out of a (compressed) tar layer. */
async function readSignatureLayer(
  layer: Readable,
  digest: string,
): Promise<{ name: string; bytes: Buffer }[]> {
  const prefix = `sha256=${digestHex(digest)}/`;
  const out: { name: string; bytes: Buffer }[] = [];
  const extract = tarExtract();
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^(\.\/|\/)+/, '');
    const wanted =
      header.type === 'file' &&
      name.startsWith(prefix) &&
      /^signature-[1-9]$/.test(name.slice(prefix.length)) &&
      out.length < MAX_SIGNATURES;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: unknown) => {
      const chunk = c as Buffer;
      size += chunk.length;
      if (wanted && size <= MAX_SIGNATURE_BYTES) chunks.push(chunk);
    });
    stream.on('end', () => {
      if (wanted && size <= MAX_SIGNATURE_BYTES) out.push({ name, bytes: Buffer.concat(chunks) });
      next();
    });
  });
  const { compression, stream } = await peekCompression(layer);
  const inflate = decompressor(compression);
  if (inflate) await pipeline(stream, inflate, extract);
  else await pipeline(stream, extract);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
