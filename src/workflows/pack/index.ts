import { setMaxListeners } from 'node:events';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { acquireLock } from '../../bundle/lock.js';
import { BaleError } from '../../errors.js';
import { makeSafeSubdir } from '../../safe-write.js';
import { loadPackBase, readPackBase } from './base.js';
import { collectImages } from './collect-all.js';
import { openContext, type PackContext } from './context.js';
import { buildPackItems } from './pack-items.js';
import { checkRoom, planBundle } from './plan-bundle.js';
import { planReleases } from './plan-releases.js';
import { packedReleases, resolveReleases } from './release-set.js';
import { buildIndex, signIndex, writeIndexAndSums } from './seal.js';
import { signatureFiles } from './signature-files.js';
import { collectSigstoreArtifacts } from './sigstore-artifacts.js';
import type { PayloadVerifier } from './verifier-config.js';
import { prepareTarget, removeIfUnused, removeTempFiles } from './target.js';
import { STATE_DIR, type PackOptions, type PackResult } from './types.js';
import { verifyAfterWrite } from './verify-after-write.js';
import { writeVolumes } from './write-volumes.js';

export { DEFAULT_COMPRESSION_LEVEL, type PackOptions, type PackResult } from './types.js';

/**
 * `bale pack`: reads one or more releases (an update path, resolved from an update
 * graph) and what goes with them from their registries and writes a bundle directory.
 * Each step below is a phase in a file of its own in this folder.
 */
export async function pack(o: PackOptions): Promise<PackResult> {
  const started = Date.now();
  const to = resolve(o.to);
  const baseInput = await loadPackBase(o); // --have / --since, read before the target is touched
  const { created, finished: targetFinished } = await prepareTarget(to);
  const stateDir = join(to, STATE_DIR);
  // The state directory never follows a link planted at `.bale` or `.bale/blobs`.
  await makeSafeSubdir(to, STATE_DIR, 'blobs');
  const lock = await acquireLock(stateDir, o.lockOwner);
  const retries = { count: 0 };
  let indexRewritten = false;
  let ctx: PackContext | undefined;
  // An interrupt closes every connection at once: downloads in flight stop instead of running on.
  const stopClient = () => void ctx?.client.destroy();
  // Every download and volume stream in flight listens to the signal (removed when it ends).
  if (o.signal) setMaxListeners(0, o.signal);
  o.signal?.addEventListener('abort', stopClient, { once: true });
  try {
    await removeTempFiles(to);
    ctx = await openContext(o, to, stateDir, retries);

    const plan = await planReleases(ctx); // 0. the releases (update paths), said before any download
    const signed = await resolveReleases(ctx, plan.releases); // 1–2. each release and its signatures
    const rels = signed.map((x) => x.rel);
    const content = await collectImages(ctx, rels); // 3. images
    const sigstore = await collectSigstoreArtifacts(ctx, content.images); // 3b. their Sigstore signatures
    content.images.push(...sigstore.images);
    const base = await readPackBase(ctx, baseInput, content.images); // 3b. what the far side holds (--have/--since)
    const graph = content.graph && { digest: content.graph.root.digest, sigs: content.graphSigs };
    const sigs = signatureFiles(
      signed.map((x) => ({ digest: x.rel.root.digest, sigs: x.sigs })),
      graph,
    ); // 4. files beside the images, then the graph documents
    const graphFiles = plan.graphs.map((g) => ({ path: g.path, data: g.bytes }));
    const items = buildPackItems(content.images, [...sigs.extras, ...graphFiles], base?.skip);
    const bp = await planBundle(ctx, items, targetFinished); // 5. the volume plan
    await checkRoom(ctx, bp); // 6. room on the target
    const written = await writeVolumes(ctx, bp); // 7. download and write
    const index = buildIndex(ctx, { rels, graphs: plan.graphs, content, sigs, bp }, written); // 8. index, signature, sums
    if (base) index.base = base.record;
    if (sigstore.records.length > 0) index.sigstore = sigstore.records;
    const signature = await signIndex(ctx, index);
    indexRewritten = true;
    await writeIndexAndSums(to, index);
    if (o.verifyAfterWrite) await verifyAfterWrite(ctx); // 9. read it all back

    // Leftovers go in an order that a crash in between cannot turn into a wrong bundle:
    // staged blobs, then the journal (a re-run then rewrites identical volumes), then the lock.
    await rm(join(stateDir, 'blobs'), { recursive: true, force: true });
    await rm(join(stateDir, 'journal.json'), { force: true });
    await lock.release();
    await rm(stateDir, { recursive: true, force: true });

    const packed = packedReleases(rels);
    const { stats } = ctx.stager;
    const fed = ctx.feed.stats;
    const cstats = ctx.client.stats;
    return {
      bundleDir: to,
      release: packed.highest,
      releases: packed.releases,
      graphs: (index.graphs ?? []).map(({ sha256: _sha, ...g }) => g),
      images: content.images.length,
      blobs: index.entries.filter((e) => e.path.includes('/blobs/')).length,
      contentBytes: index.entries.reduce((n, e) => n + e.size, 0),
      volumes: index.volumes,
      signatures: sigs.release.map((s) => ({
        keyId: s.keyId,
        userId: s.userId,
        identity: s.identity,
        source: s.source,
      })),
      graphData: content.graph
        ? { revision: content.graph.revision, digest: content.graph.root.digest }
        : undefined,
      sigstore: sigstore.records.map(({ repository, tag, digest, state }) => ({
        repository,
        tag,
        digest,
        state,
      })),
      signed: signature !== undefined,
      ...(base ? { base: { ...base.record, digests: base.record.digests.length, bytes: base.bytes } } : {}),
      verifier: verifierOf(signed[0]?.verifier),
      stats: {
        blobsDownloaded: stats.downloaded + fed.downloaded,
        blobsReused: stats.reused + bp.blobsInCheckpoint,
        bytesDownloaded: stats.bytesDownloaded + fed.bytesDownloaded,
        bytesResumed: stats.bytesResumed,
        volumesReused: bp.finished.size,
        requests: cstats.requests,
        retries: cstats.retries,
      },
      durationMs: Date.now() - started,
    };
  } catch (err) {
    await lock.release().catch(() => undefined);
    if (targetFinished && !indexRewritten) {
      // The target was a finished bundle: .bale/ holds only this run's work, and leaving
      // it would make the next command treat the finished bundle as an interrupted pack.
      await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
      await removeTempFiles(to, true).catch(() => undefined);
    } else {
      await removeIfUnused(to, stateDir, created);
    }
    if (o.signal?.aborted) {
      throw new BaleError('E_INTERRUPTED', 'pack interrupted', {
        hint: `Nothing finished is lost: run the same command again to continue into ${to}.`,
        details: { signal: (o.signal.reason as BaleError | undefined)?.details?.signal },
      });
    }
    throw err;
  } finally {
    ctx?.feed.stop();
    o.signal?.removeEventListener('abort', stopClient);
    if (o.signal?.aborted) await ctx?.client.destroy();
    else await ctx?.client.close();
  }
}

/** PackResult.verifier for the first release (each release's payload is read the same way). */
function verifierOf(v: PayloadVerifier | undefined): PackResult['verifier'] {
  if (v === undefined) return { stores: [], storesFrom: 'official' };
  return { stores: v.stores, storesFrom: v.storesFrom, ...(v.keys ? { keys: v.keys } : {}) };
}
