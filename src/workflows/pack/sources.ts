/**
 * Where pack reads each image from: the mirror rules of `--idms-file`, `--icsp-file`
 * and registries.conf (in that order), and for one image the first candidate source
 * (mirrors in order, the original last) that serves its root manifest. A mirror holds
 * a whole image, as containers/image assumes: the winning source is the repository
 * every manifest and blob of that image's tree is then read from. Digests never change
 * (a manifest pinned by digest is checked against it).
 */
import { BaleError, isBaleError } from '../../errors.js';
import type { Repo } from '../../registry/client.js';
import { collectManifest, type ManifestNode } from '../../registry/manifest-tree.js';
import { loadMirrorSetFile } from '../../registry/mirror-set-file.js';
import { MirrorSources, type SourceCandidate } from '../../registry/mirror-sources.js';
import {
  attemptOf,
  getManifestFromSources,
  isFatal,
  noSourceError,
  type SourceAttempt,
} from '../../registry/mirrored-source.js';
import { formatReference, type ImageReference } from '../../registry/reference.js';
import { loadRegistriesConf } from '../../registry/registries-conf.js';
import type { PackContext } from './context.js';
import type { PackOptions } from './types.js';

/** The mirror rules of every file given: IDMS files, then ICSP files, then registries.conf. */
export async function loadPackMirrors(
  o: Pick<PackOptions, 'idmsFiles' | 'icspFiles' | 'registriesConf'>,
): Promise<MirrorSources> {
  let sources = new MirrorSources();
  for (const f of o.idmsFiles ?? [])
    sources = sources.concat(await loadMirrorSetFile(f, 'ImageDigestMirrorSet'));
  for (const f of o.icspFiles ?? []) {
    sources = sources.concat(await loadMirrorSetFile(f, 'ImageContentSourcePolicy'));
  }
  if (o.registriesConf !== undefined) sources = sources.concat(await loadRegistriesConf(o.registriesConf));
  return sources;
}

export interface SourcedImage {
  /** The repository the whole tree is read from. */
  src: Repo;
  root: ManifestNode;
  source: SourceCandidate;
  /** Every candidate, the winning source first, then the others in order (blob fallback). */
  sources: SourceCandidate[];
  /** The repository `ref` names (the source bundle.json records, whichever mirror served it). */
  origin: Repo;
}

/**
 * The manifest tree of `ref` (by digest, else tag, else `latest`) from the first of its
 * candidate sources that has it; E_NO_SOURCE names every source tried.
 */
export async function collectFromSources(ctx: PackContext, ref: ImageReference): Promise<SourcedImage> {
  const origin: Repo = { registry: ref.registry, repository: ref.repository };
  return { ...(await fromSources(ctx, ref)), origin };
}

async function fromSources(ctx: PackContext, ref: ImageReference): Promise<Omit<SourcedImage, 'origin'>> {
  const candidates = ctx.mirrors.candidates(ref);
  const only = candidates.length === 1 ? candidates[0] : undefined;
  if (only !== undefined && only.kind === 'original' && only.origin === undefined) {
    return fromOriginalOnly(ctx, ref, only);
  }
  const opts = { client: ctx.client, configured: ctx.mirrors.configured, signal: ctx.signal };
  if (ref.digest !== undefined) {
    const { source } = await getManifestFromSources(candidates, ref.digest, opts);
    const src = repoOf(source);
    return {
      src,
      root: await collectManifest(ctx.client, src, ref.digest),
      source,
      sources: winnerFirst(candidates, source),
    };
  }
  const attempts: SourceAttempt[] = [];
  for (const c of candidates) {
    try {
      const src = repoOf(c);
      const root = await collectManifest(ctx.client, src, ref.tag ?? 'latest');
      // The other sources are asked for a blob by the digest of this tree's root.
      const pinned = candidates.map((x) => ({ ...x, reference: { ...x.reference, digest: root.digest } }));
      return { src, root, source: c, sources: winnerFirst(pinned, pinned[candidates.indexOf(c)]!) };
    } catch (err) {
      if (isFatal(err, ctx.signal)) throw err;
      attempts.push(attemptOf(c, undefined, err));
    }
  }
  throw noSourceError('image', formatReference(ref), attempts, ctx.mirrors.configured);
}

/**
 * No mirror rule matches `ref`: its own host is the only source, and its error is kept
 * as it is (bad credentials stay E_AUTH, an unreachable host E_NETWORK), the hint
 * extended by the mirror options when the content may simply live elsewhere.
 */
async function fromOriginalOnly(
  ctx: PackContext,
  ref: ImageReference,
  only: SourceCandidate,
): Promise<Omit<SourcedImage, 'origin'>> {
  const src = repoOf(only);
  try {
    return {
      src,
      root: await collectManifest(ctx.client, src, ref.digest ?? ref.tag ?? 'latest'),
      source: only,
      sources: [only],
    };
  } catch (err) {
    if (!isBaleError(err) || KEEP_HINT.has(err.code) || isFatal(err, ctx.signal)) throw err;
    const elsewhere = ctx.mirrors.configured
      ? 'No mirror rule matches this image: add one to the mirror configuration if it lives elsewhere.'
      : 'If the content lives elsewhere, tell bale where: --idms-file (ImageDigestMirrorSet), --icsp-file (ImageContentSourcePolicy) or --registries-conf (containers registries.conf mirror tables).';
    throw new BaleError(err.code, err.message, {
      hint: err.hint ? `${err.hint} ${elsewhere}` : elsewhere,
      cause: err.cause ?? err,
      details: err.details,
    });
  }
}

/** Errors whose own hint is what to do (credentials, TLS): no mirror would help. */
const KEEP_HINT = new Set(['E_AUTH', 'E_DENIED', 'E_TLS', 'E_USAGE', 'E_CONFIG']);

function winnerFirst(candidates: SourceCandidate[], winner: SourceCandidate): SourceCandidate[] {
  return [winner, ...candidates.filter((c) => c !== winner)];
}

function repoOf(c: SourceCandidate): Repo {
  return { registry: c.reference.registry, repository: c.reference.repository };
}
