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
import { packResult } from './pack-result.js';
import { resolveReleases } from './release-set.js';
import { buildIndex, signIndex, writeIndexAndSums } from './seal.js';
import { signatureFiles } from './signature-files.js';
import { collectSigstoreArtifacts } from './sigstore-artifacts.js';
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

    return packResult(ctx, {
      to,
      started,
      rels,
      signed,
      content,
      sigstore,
      base,
      sigs,
      bp,
      index,
      signature,
    });
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
