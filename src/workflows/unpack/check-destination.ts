import pLimit from 'p-limit';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient } from '../../registry/client.js';
import type { MissingBlob, RepoContent } from './repositories.js';

/** What the mirror has already, learned by HEAD before anything is sent. */
export interface DestinationState {
  /** digest → destination repositories that have the blob */
  present: Map<string, Set<string>>;
  /** by entry path */
  missing: Map<string, MissingBlob>;
  /** `${destRepo}@${digest}` */
  manifestPresent: Set<string>;
  /** `${destRepo}:${tag}` already naming the right digest */
  tagPresent: Set<string>;
  blobsPresent: number;
}

/**
 * HEADs every blob, manifest and tag of the bundle in the mirror (one request alone
 * first, so an unreachable registry or a credentials problem fails once, clearly).
 * Tags naming another digest are E_TAG_CONFLICT unless `overwrite`, before anything is pushed.
 */
export async function checkDestination(o: {
  repos: RepoContent[];
  client: RegistryClient;
  registry: string;
  concurrency: number;
  overwrite: boolean;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<DestinationState> {
  const { client, progress, signal, repos } = o;
  const state: DestinationState = {
    present: new Map(),
    missing: new Map(),
    manifestPresent: new Set(),
    tagPresent: new Set(),
    blobsPresent: 0,
  };
  const tagConflicts: string[] = [];
  progress.phase('check destination', {
    items: repos.reduce((n, r) => n + r.blobs.length + r.manifests.length + r.tags.length, 0),
  });
  const checks: (() => Promise<void>)[] = repos.flatMap((r) => [
    ...r.blobs.map((b) => async () => {
      signal?.throwIfAborted();
      const digest = r.blobDigest.get(b.path) ?? '';
      if (await client.blobExists(r.dest, digest)) {
        const s = state.present.get(digest) ?? new Set<string>();
        s.add(r.dest.repository);
        state.present.set(digest, s);
        state.blobsPresent++;
      } else {
        state.missing.set(b.path, { repo: r, entry: b, digest });
      }
      progress.advance(0, 1);
    }),
    ...r.manifests.map((d) => async () => {
      signal?.throwIfAborted();
      if (await client.headManifest(r.dest, d)) state.manifestPresent.add(`${r.dest.repository}@${d}`);
      progress.advance(0, 1);
    }),
    ...r.tags.map((t) => async () => {
      signal?.throwIfAborted();
      const head = await client.headManifest(r.dest, t.tag);
      if (head?.digest === t.digest) state.tagPresent.add(`${r.dest.repository}:${t.tag}`);
      else if (head !== undefined)
        tagConflicts.push(`${r.dest.repository}:${t.tag} is ${head.digest}, the bundle has ${t.digest}`);
      progress.advance(0, 1);
    }),
  ]);
  const limit = pLimit(Math.max(1, o.concurrency));
  const [probe, ...rest] = checks;
  if (probe) await probe();
  try {
    await Promise.all(rest.map((c) => limit(c)));
  } catch (err) {
    limit.clearQueue();
    throw err;
  }
  if (tagConflicts.length > 0 && !o.overwrite) {
    throw new BaleError(
      'E_TAG_CONFLICT',
      `${tagConflicts.length} tag(s) in ${o.registry} already name another image: ${tagConflicts.slice(0, 5).join('; ')}`,
      {
        hint: 'Nothing was pushed. Check what those tags hold; re-run with --overwrite to re-point them, or unpack under another --to prefix.',
        details: { conflicts: tagConflicts },
      },
    );
  }
  return state;
}
