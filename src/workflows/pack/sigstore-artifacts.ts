/**
 * Phase 3b: the Sigstore (cosign) signature artifacts of every image pack carries (the
 * release, its components, graph-data, extra images), found where the image was read
 * from: the `sha256-<hex>.sig` tag in the same repository and, where the registry has
 * it, the OCI referrers API (src/registry/sigstore-discovery.ts).
 *
 * Each artifact becomes one more image in the bundle, in the signed image's repository
 * under the same `.sig` tag, so `unpack --to` and `oc image mirror --from-dir` push it
 * like any image and a cluster finds it in the mirror where CRI-O looks. pack checks
 * each artifact with the Sigstore keys (--sigstore-key, default the shipped Red Hat
 * key): one whose payload names another digest is left out with a warning; one no key
 * verifies is carried with its state recorded (verify then decides, offline).
 */
import pLimit from 'p-limit';
import { isBaleError } from '../../errors.js';
import type { Descriptor } from '../../registry/manifest.js';
import { readSmallBlob, type CollectedImage } from '../../registry/manifest-tree.js';
import { discoverSigstoreArtifacts, type SigstoreArtifactRef } from '../../registry/sigstore-discovery.js';
import type { BundleSigstore } from '../../bundle/sigstore-index.js';
import {
  SIGSTORE_LIMITS,
  SIGSTORE_PAYLOAD_MEDIA_TYPE,
  sigstoreSignatureTag,
  verifySigstoreSignatures,
  type SigstoreCheck,
} from '../../signature/sigstore.js';
import { defaultSigstoreKeyPath, loadSigstoreKey, type SigstoreKey } from '../../signature/sigstore-key.js';
import type { PackContext } from './context.js';

export interface SigstoreContent {
  /** One image per artifact carried, in the signed image's repository. */
  images: CollectedImage[];
  /** bundle.json's `sigstore` list. */
  records: BundleSigstore[];
}

/** `--sigstore-key` files, or the shipped Red Hat key. */
export async function loadSigstoreKeys(paths: readonly string[] | undefined): Promise<SigstoreKey[]> {
  const files = paths?.length ? paths : [defaultSigstoreKeyPath()];
  return Promise.all(files.map((p) => loadSigstoreKey(p)));
}

/** Errors that mean "this is not a usable signature artifact" (skipped), not "the registry failed". */
const NOT_AN_ARTIFACT = new Set(['E_SIGNATURE_INVALID', 'E_MANIFEST_INVALID', 'E_TOO_LARGE']);

export async function collectSigstoreArtifacts(
  ctx: PackContext,
  images: readonly CollectedImage[],
): Promise<SigstoreContent> {
  const out: SigstoreContent = { images: [], records: [] };
  if (ctx.o.sigstore === false || images.length === 0) return out;
  const keys = await loadSigstoreKeys(ctx.o.sigstoreKeys);
  ctx.progress.phase('sigstore', { items: images.length });
  // One lookup per signed image and bundle repository (components may share a digest).
  const targets = new Map<string, CollectedImage>();
  for (const img of images) targets.set(`${img.repository}@${img.root.digest}`, img);
  const limit = pLimit(ctx.concurrency);
  const found = await Promise.all(
    [...targets.values()].map((img) =>
      limit(async () => {
        ctx.signal?.throwIfAborted();
        const r = await artifactsOf(ctx, img, keys);
        ctx.progress.advance(0, 1);
        return r;
      }),
    ),
  );
  for (const r of found) {
    out.images.push(...r.images);
    out.records.push(...r.records);
  }
  return out;
}

async function artifactsOf(
  ctx: PackContext,
  img: CollectedImage,
  keys: SigstoreKey[],
): Promise<SigstoreContent> {
  const out: SigstoreContent = { images: [], records: [] };
  const where = `${img.src.registry}/${img.src.repository}`;
  let refs: SigstoreArtifactRef[];
  try {
    refs = (await discoverSigstoreArtifacts(ctx.client, img.src, img.root.digest)).artifacts;
  } catch (err) {
    if (!isBaleError(err) || !NOT_AN_ARTIFACT.has(err.code)) throw err;
    ctx.progress.warn(`Sigstore signature of ${img.name} in ${where} is not carried: ${err.message}`);
    return out;
  }
  const tag = sigstoreSignatureTag(img.root.digest);
  // One artifact per image, under its `.sig` tag (where CRI-O looks in a mirror): the one
  // found by tag, else the first the referrers API lists.
  const chosen = refs.find((x) => x.tag === tag) ?? refs[0];
  for (const a of refs) {
    if (a !== chosen) {
      ctx.progress.info(
        `Sigstore artifact ${where}@${a.manifest.digest} of ${img.name} is not carried: only the one under ${tag} is`,
      );
      continue;
    }
    const label = `Sigstore signature ${where}@${a.manifest.digest} of ${img.name} (${img.root.digest})`;
    let checks: SigstoreCheck[];
    try {
      checks = verifySigstoreSignatures({
        manifest: a.manifest.bytes,
        payloads: await readPayloads(ctx, img, a.blobs),
        keys,
        imageDigest: img.root.digest,
        where: `${where}:${tag}`,
      });
    } catch (err) {
      if (!isBaleError(err) || !NOT_AN_ARTIFACT.has(err.code)) throw err;
      ctx.progress.warn(`${label} is not carried: ${err.message}`);
      continue;
    }
    const other = checks.find((c) => c.signedDigest !== undefined && c.signedDigest !== img.root.digest);
    if (other !== undefined) {
      ctx.progress.warn(
        `${label} is not carried: its payload signs ${other.signedDigest ?? '?'}, not ${img.root.digest}`,
      );
      continue;
    }
    const state: BundleSigstore['state'] = checks.some((c) => c.state === 'valid')
      ? 'valid'
      : checks.some((c) => c.state === 'wrong-key')
        ? 'wrong-key'
        : 'malformed';
    if (state !== 'valid') {
      const reason = checks.find((c) => c.reason !== undefined)?.reason ?? state;
      ctx.progress.warn(
        `${label}: ${state} (${reason}); carried, verify will refuse it without the right --sigstore-key`,
      );
    }
    out.images.push({
      name: `${img.name}.sig`,
      src: img.src,
      repository: img.repository,
      tags: [tag],
      root: {
        digest: a.manifest.digest,
        mediaType: a.manifest.mediaType,
        bytes: a.manifest.bytes,
        blobs: a.blobs,
        children: [],
      },
    });
    out.records.push({
      repository: img.repository,
      tag,
      digest: a.manifest.digest,
      signs: img.root.digest,
      source: where,
      payloads: a.blobs.filter((b) => b.mediaType === SIGSTORE_PAYLOAD_MEDIA_TYPE).map((b) => b.digest),
      state,
    });
  }
  return out;
}

/** The simple-signing payload blobs of an artifact (small: capped), read through the stager. */
async function readPayloads(
  ctx: PackContext,
  img: CollectedImage,
  blobs: Descriptor[],
): Promise<Map<string, Buffer>> {
  const payloads = new Map<string, Buffer>();
  for (const b of blobs) {
    if (b.mediaType !== SIGSTORE_PAYLOAD_MEDIA_TYPE || b.size > SIGSTORE_LIMITS.payloadBytes) continue;
    payloads.set(b.digest, await readSmallBlob(ctx.client, img.src, b, ctx.openStaged));
  }
  return payloads;
}
