/**
 * Finds the Sigstore (cosign) signature artifacts of an image in its repository, the
 * two ways a cluster's CRI-O and oc-mirror look for them:
 *
 * - the tag scheme: `sha256-<hex>.sig` in the image's own repository;
 * - the OCI 1.1 referrers API, artifactType `application/vnd.dev.cosign.artifact.sig.v1+json`,
 *   where the registry has it (a 404 means it does not: reported, not an error).
 *
 * For each artifact found, it returns what must be carried to the other side: the
 * manifest (bytes, digest, media type, the tag it had) and the blobs it names (config and
 * payload layers). Nothing is verified here: that is src/signature/sigstore.ts, offline.
 */
import type { RegistryClient, Repo } from './client.js';
import { isDigest } from '../digest.js';
import { BaleError } from '../errors.js';
import { parseManifest, type Descriptor } from './manifest.js';
import { SIGSTORE_ARTIFACT_TYPE, sigstoreSignatureTag } from '../signature/sigstore.js';

export interface SigstoreArtifactRef {
  /** How it was found; an artifact found both ways is listed once, with both. */
  via: ('tag' | 'referrers')[];
  /** `sha256-<hex>.sig` when found by tag (push it under that tag again). */
  tag?: string;
  manifest: { digest: string; mediaType: string; size: number; bytes: Buffer };
  /** Config, then layers, in manifest order; each is a blob to carry. */
  blobs: Descriptor[];
}

export interface SigstoreDiscovery {
  imageDigest: string;
  repo: Repo;
  /** Whether the registry answered the referrers API (false: it has none, only the tag scheme was used). */
  referrersApi: boolean;
  artifacts: SigstoreArtifactRef[];
}

async function artifactAt(
  client: RegistryClient,
  repo: Repo,
  reference: string,
  via: 'tag' | 'referrers',
): Promise<SigstoreArtifactRef> {
  const m = await client.getManifest(repo, reference);
  const parsed = parseManifest(m.bytes, m.mediaType);
  if (parsed.kind !== 'image' || parsed.config === undefined) {
    throw new BaleError(
      'E_SIGNATURE_INVALID',
      `Sigstore signature artifact ${repo.registry}/${repo.repository}@${m.digest} is an index, not an image manifest`,
      {
        hint: 'The registry holds something other than a cosign signature under this name; check it with skopeo inspect --raw.',
        details: { repository: repo.repository, digest: m.digest, reference },
      },
    );
  }
  return {
    via: [via],
    ...(via === 'tag' ? { tag: reference } : {}),
    manifest: { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, bytes: m.bytes },
    blobs: [parsed.config, ...parsed.layers],
  };
}

/**
 * Discovers the signature artifacts of `imageDigest` in `repo`. `referrers: false`
 * skips the referrers API (for registries known to mishandle it).
 */
export async function discoverSigstoreArtifacts(
  client: RegistryClient,
  repo: Repo,
  imageDigest: string,
  opts: { referrers?: boolean } = {},
): Promise<SigstoreDiscovery> {
  if (!isDigest(imageDigest)) {
    throw new BaleError('E_REFERENCE', `${JSON.stringify(imageDigest)} is not a sha256 digest`, {
      hint: 'Signatures are looked up by image digest (sha256:<64 hex>).',
    });
  }
  const byDigest = new Map<string, SigstoreArtifactRef>();
  const tag = sigstoreSignatureTag(imageDigest);
  const head = await client.headManifest(repo, tag);
  if (head !== undefined) {
    const a = await artifactAt(client, repo, tag, 'tag');
    byDigest.set(a.manifest.digest, a);
  }
  let referrersApi = false;
  if (opts.referrers !== false) {
    const found = await client.referrers(repo, imageDigest, { artifactType: SIGSTORE_ARTIFACT_TYPE });
    if (found !== undefined) {
      referrersApi = true;
      for (const d of found) {
        const known = byDigest.get(d.digest);
        if (known !== undefined) {
          if (!known.via.includes('referrers')) known.via.push('referrers');
          continue;
        }
        const a = await artifactAt(client, repo, d.digest, 'referrers');
        byDigest.set(a.manifest.digest, a);
      }
    }
  }
  const artifacts = [...byDigest.values()].sort((a, b) =>
    a.manifest.digest < b.manifest.digest ? -1 : a.manifest.digest > b.manifest.digest ? 1 : 0,
  );
  return { imageDigest, repo, referrersApi, artifacts };
}
