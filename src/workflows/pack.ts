import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import {
  BUNDLE_SCHEMA,
  type BundleEntry,
  type BundleImage,
  type BundleIndex,
  type BundleSignature,
} from '../bundle/index-schema.js';
import { acquireLock } from '../bundle/lock.js';
import {
  DEFAULT_VOLUME_SIZE,
  assembleEntries,
  planVolumes,
  type PlanInput,
  type PlannedEntry,
  type VolumePlan,
} from '../bundle/plan.js';
import { writeFileAtomic } from '../bundle/atomic-write.js';
import { readIndex, serializeIndex, writeIndex } from '../bundle/bundle-index.js';
import { expectedEntries } from '../bundle/expected-entries.js';
import { hashFile, writeSha256Sums } from '../bundle/sha256sums.js';
import { writeVolume, type WrittenVolume } from '../bundle/volume-writer.js';
import { digestHex } from '../digest.js';
import { abortable } from '../abortable.js';
import { BaleError } from '../errors.js';
import { ioError } from '../layout/dir-writer.js';
import { BlobStager } from '../pack/blob-stager.js';
import { assertSpace, bytesOnDisk, freeSpace, spaceNeeded } from '../pack/space-check.js';
import {
  collectManifest,
  pickPlatform,
  readSmallBlob,
  type BlobOpener,
  treeSize,
  type CollectedImage,
} from '../pack/collect-images.js';
import {
  OFFICIAL_SIGNATURE_STORES,
  gatherSignatures,
  type KeptSignature,
} from '../pack/gather-signatures.js';
import { resolveGraphData } from '../pack/graph-data.js';
import { PackJournal } from '../pack/pack-journal.js';
import { buildPackItems, planFingerprint, type ExtraFile, type PackItem } from '../pack/pack-items.js';
import { silentProgress, type Progress } from '../progress.js';
import { RegistryClient, type Repo } from '../registry/client.js';
import { loadCredentials } from '../registry/credentials.js';
import { parseManifest } from '../registry/manifest.js';
import { parseReference } from '../registry/reference.js';
import { readReleasePayload } from '../release/read-payload.js';
import { parseRelease } from '../release/parse-release.js';
import { componentTag, releaseArchitecture, releaseTag } from '../release/arch.js';
import { signatureConfigMap, signatureConfigMapName } from '../signature/configmap.js';
import { defaultKeyringPath, loadKeyring, type Keyring } from '../signature/keyring.js';
import { signDetached } from '../signature/sign.js';
import { BALE_VERSION } from '../version.js';
import { verifyBundle } from './verify.js';

export interface PackOptions {
  release: string;
  to: string;
  graphData?: string;
  images?: string[];
  noImages?: boolean;
  /** http(s):// or file:// stores; default: the two official stores. */
  signatureStores?: string[];
  /** Keyring files; default: Red Hat release key 2, shipped with bale. */
  keyrings?: string[];
  registryConfig?: string;
  srcTlsVerify?: boolean;
  caFile?: string;
  volumeSize?: number;
  /** Armored OpenPGP private key: sign bundle.json into bundle.json.asc. */
  signKey?: string;
  concurrency?: number;
  /** zstd level of the volumes (default DEFAULT_COMPRESSION_LEVEL). */
  compressionLevel?: number;
  /** Bytes of blobs staged ahead of the volume writer (default 1 GiB). */
  stagingWindow?: number;
  /** Read every volume back and verify it once written (catches bad media). */
  verifyAfterWrite?: boolean;
  env: Record<string, string | undefined>;
  homeDir: string;
  /** Who holds the lock (the CLI passes its pid and a liveness check). */
  lockOwner: { pid: number; hostname: string; isAlive(pid: number): boolean };
  progress?: Progress;
  signal?: AbortSignal;
  now?: () => Date;
  /** Free bytes at the target (default: statfs); tests pass a small number to exercise the check. */
  freeSpace?: (dir: string) => Promise<number | undefined>;
}

export interface PackResult {
  bundleDir: string;
  release: { version: string; architecture: string; digest: string; source: string };
  images: number;
  blobs: number;
  contentBytes: number;
  volumes: { name: string; size: number; sha256: string; entries: number }[];
  signatures: { keyId: string; userId?: string; identity: string; source: string }[];
  graphData?: { revision: string; digest: string };
  signed: boolean;
  stats: {
    blobsDownloaded: number;
    blobsReused: number;
    bytesDownloaded: number;
    bytesResumed: number;
    volumesReused: number;
    requests: number;
    retries: number;
  };
  durationMs: number;
}

const STATE_DIR = '.bale';
/**
 * zstd level 1. Nearly everything in a release is a gzip'd layer, which zstd cannot
 * shrink: on a 38 MiB gzip'd tar, level 1 gives 99.5 % at ~900 MiB/s, level 3 99.0 % at
 * ~180 MiB/s, level 6 99.2 % at ~300 MiB/s (one core). The 0.5 % is not worth a five
 * times slower writer; text (manifests, ConfigMaps, uncompressed layers) still gets ~28 %.
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;
const GiB = 1024 ** 3;

export async function pack(o: PackOptions): Promise<PackResult> {
  const started = Date.now();
  const progress = o.progress ?? silentProgress;
  const signal = o.signal;
  const to = resolve(o.to);
  const { created, finished: targetFinished } = await prepareTarget(to);
  const stateDir = join(to, STATE_DIR);
  await mkdir(join(stateDir, 'blobs'), { recursive: true });
  const lock = await acquireLock(stateDir, o.lockOwner);
  const retries = { count: 0 };
  let indexRewritten = false;
  let client: RegistryClient | undefined;
  try {
    await removeTempFiles(to);
    const credentials = await loadCredentials({
      registryConfig: o.registryConfig,
      env: o.env,
      homeDir: o.homeDir,
    });
    client = new RegistryClient({
      credentials,
      tlsVerify: o.srcTlsVerify ?? true,
      caFile: o.caFile,
      concurrency: o.concurrency ?? 8,
      onRetry: (e) => {
        retries.count++;
        progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`);
      },
    });
    const keyrings = await loadKeyrings(o.keyrings);
    const window = o.stagingWindow ?? GiB;
    const stager = new BlobStager({
      client,
      dir: join(stateDir, 'blobs'),
      concurrency: o.concurrency ?? 8,
      windowBytes: window,
      signal,
    });
    // Metadata blobs (configs, the payload layer, the graph-data signature layer) are staged
    // too: read from disk, kept until the end, never downloaded twice (not even on resume).
    const openStaged: BlobOpener = async (src, desc) =>
      createReadStream(await stager.prefetch({ digest: desc.digest, size: desc.size, src }), {
        highWaterMark: 1 << 20,
      });
    const stores = o.signatureStores?.length ? o.signatureStores : OFFICIAL_SIGNATURE_STORES;

    // 1. The release.
    progress.phase('resolve release');
    const relRef = parseReference(o.release);
    const relRepo: Repo = { registry: relRef.registry, repository: relRef.repository };
    const relRoot = await collectManifest(client, relRepo, relRef.digest ?? relRef.tag ?? 'latest');
    const relImage = pickPlatform(relRoot);
    const relManifest = parseManifest(relImage.bytes, relImage.mediaType);
    const lastLayer = relManifest.layers.at(-1);
    if (!relManifest.config || !lastLayer) {
      throw new BaleError(
        'E_RELEASE_INVALID',
        `${o.release} is not a release image: it has no config or no layers`,
      );
    }
    const configBytes = await readSmallBlob(client, relRepo, relManifest.config, openStaged);
    const architecture = relRoot.children.length > 0 ? 'multi' : releaseArchitecture({ config: configBytes });
    const payload = await readReleasePayload(await openStaged(relRepo, lastLayer));
    const info = parseRelease(payload.imageReferences, payload.releaseMetadata, { architecture });
    const releaseSource = `${relRepo.registry}/${relRepo.repository}`;
    progress.info(
      `release ${info.version} (${architecture}) ${relRoot.digest}, ${info.components.length} components`,
    );

    // 2. Its signatures.
    progress.phase('signatures');
    const relSigs = await gatherSignatures({
      digest: relRoot.digest,
      stores,
      keyrings,
      tlsVerify: o.srcTlsVerify ?? true,
      caFile: o.caFile,
      progress,
      what: 'release',
    });

    // 3. Images: release, components, graph-data, extras.
    const images: CollectedImage[] = [];
    let graph: Awaited<ReturnType<typeof resolveGraphData>> | undefined;
    let graphSigs: KeptSignature[] = [];
    if (!o.noImages) {
      progress.phase('manifests', { items: info.components.length + 1 });
      images.push({
        name: 'release',
        src: relRepo,
        repository: 'openshift/release',
        tags: [releaseTag(info.version, architecture)],
        root: relRoot,
      });
      progress.advance(0, 1);
      const limit = pLimit(o.concurrency ?? 8);
      const c = client;
      const components = await Promise.all(
        info.components.map((comp) =>
          limit(async () => {
            signal?.throwIfAborted();
            const src = { registry: comp.image.registry, repository: comp.image.repository };
            const root = await collectManifest(c, src, comp.image.digest);
            progress.advance(0, 1);
            return {
              name: comp.name,
              src,
              repository: 'openshift/release',
              tags: [componentTag(info.version, architecture, comp.name)],
              root,
            } satisfies CollectedImage;
          }),
        ),
      );
      images.push(...components);
    }
    if (o.graphData && !o.noImages) {
      progress.phase('graph-data');
      const gref = parseReference(o.graphData);
      const gsrc = { registry: gref.registry, repository: gref.repository };
      graph = await resolveGraphData(client, gsrc, gref.digest ?? gref.tag ?? 'latest', openStaged);
      graphSigs = await gatherSignatures({
        digest: graph.root.digest,
        stores: o.signatureStores ?? [],
        keyrings,
        extra: graph.candidates,
        tlsVerify: o.srcTlsVerify ?? true,
        caFile: o.caFile,
        progress,
        what: 'graph-data image',
      });
      images.push({
        name: 'graph-data',
        src: gsrc,
        repository: 'openshift/graph-data',
        tags: [graph.tag],
        root: graph.root,
      });
      if (graph.signatureRoot) {
        images.push({
          name: 'graph-data-signature',
          src: gsrc,
          repository: 'openshift/graph-data',
          tags: [graph.signatureTag],
          root: graph.signatureRoot,
        });
      }
    }
    if (!o.noImages) {
      for (const spec of o.images ?? []) {
        const ref = parseReference(spec);
        const src = { registry: ref.registry, repository: ref.repository };
        const root = await collectManifest(client, src, ref.digest ?? ref.tag ?? 'latest');
        images.push({ name: spec, src, repository: ref.repository, tags: ref.tag ? [ref.tag] : [], root });
      }
    }

    // 4. Files beside the images: the signature ConfigMap and the raw signatures.
    const extras: ExtraFile[] = [];
    const configMapPath = `config/${signatureConfigMapName(relRoot.digest)}`;
    extras.push({
      path: configMapPath,
      data: Buffer.from(
        signatureConfigMap(
          relRoot.digest,
          relSigs.map((s) => s.bytes),
        ),
      ),
    });
    const sigRecords: BundleSignature[] = [];
    const addSignatures = (digest: string, kept: KeptSignature[], out: BundleSignature[]) => {
      kept.forEach((s, i) => {
        const path = `signatures/sha256=${digestHex(digest)}/signature-${i + 1}`;
        extras.push({ path, data: s.bytes });
        const rec: BundleSignature = {
          digest,
          path,
          keyId: s.check.keyId ?? '',
          identity: s.check.identity ?? '',
          source: s.source,
        };
        if (s.check.userId) rec.userId = s.check.userId;
        out.push(rec);
      });
    };
    addSignatures(relRoot.digest, relSigs, sigRecords);
    const graphSigRecords: BundleSignature[] = [];
    if (graph) addSignatures(graph.root.digest, graphSigs, graphSigRecords);

    // 5. Plan the volumes.
    const items = buildPackItems(images, extras);
    const level = o.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL;
    const volumeSize = o.volumeSize ?? DEFAULT_VOLUME_SIZE;
    const plan = planVolumes(items.map(planInput), { volumeSize });
    const byPath = new Map(items.map((i) => [i.path, i]));
    const journal = await PackJournal.open(stateDir, planFingerprint(items, volumeSize, level));
    if (targetFinished) {
      const signed = await stat(join(to, 'bundle.json.asc')).then(
        () => true,
        () => false,
      );
      if (signed !== Boolean(o.signKey)) {
        throw new BaleError(
          'E_CONFIG',
          `${to} already holds a finished bundle of other content (${signed ? 'signed' : 'not signed'})`,
          {
            hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
          },
        );
      }
      await adoptFinishedBundle(to, plan, journal);
    }

    // Which volumes are already finished (and still intact on disk)?
    const finished = new Map<string, WrittenVolume>();
    for (const vol of plan.volumes) {
      const rec = journal.finished(vol.name);
      if (!rec) continue;
      const path = join(to, vol.name);
      const st = await stat(path).catch(() => undefined);
      if (st?.size === rec.size && (await hashFile(path)).sha256 === rec.sha256) {
        finished.set(vol.name, {
          name: rec.name,
          size: rec.size,
          sha256: rec.sha256,
          entries: rec.entryRecords,
        });
      } else {
        progress.warn(`${vol.name} does not match what was written before; writing it again`);
        await journal.forget(vol.name);
      }
    }

    // Blobs still needed, and the last volume that needs each (to free staging early).
    const blobsNeeded: { digest: string; size: number; src: Repo }[] = [];
    const lastUse = new Map<string, number>();
    const queued = new Set<string>();
    plan.volumes.forEach((vol, vi) => {
      if (finished.has(vol.name)) return;
      for (const e of vol.entries) {
        const item = byPath.get(e.part?.of ?? e.path);
        if (item?.kind !== 'blob') continue;
        lastUse.set(item.digest, vi);
        if (queued.has(item.digest)) continue;
        queued.add(item.digest);
        blobsNeeded.push({ digest: item.digest, size: item.size, src: item.src });
      }
    });

    // 6. Room on the target?
    const need = spaceNeeded({
      volumeBounds: plan.volumes.filter((v) => !finished.has(v.name)).map((v) => v.bound),
      blobSizes: blobsNeeded.map((b) => b.size),
      stagedBytes: await bytesOnDisk(
        blobsNeeded.flatMap((b) => [stager.pathOf(b.digest), `${stager.pathOf(b.digest)}.partial`]),
      ),
      windowBytes: window,
    });
    const available = await (o.freeSpace ?? freeSpace)(to);
    if (available !== undefined) assertSpace(to, available, need);

    // 7. Download (ahead, in parallel) and write the volumes (in order).
    stager.start(blobsNeeded);
    const contentTotal = plan.volumes
      .filter((v) => !finished.has(v.name))
      .reduce((n, v) => n + v.entries.reduce((m, e) => m + e.size, 0), 0);
    progress.phase('pack', { bytes: contentTotal });
    const windowCredit = new Map<string, number>();
    const written: WrittenVolume[] = [];
    for (const [vi, vol] of plan.volumes.entries()) {
      signal?.throwIfAborted();
      const done = finished.get(vol.name);
      if (done) {
        written.push(done);
        continue;
      }
      const open = async (entry: PlannedEntry): Promise<Readable> => {
        signal?.throwIfAborted();
        const item = byPath.get(entry.part?.of ?? entry.path);
        if (!item) throw new BaleError('E_IO', `internal: no source for ${entry.path}`);
        if (item.kind === 'bytes') {
          const data = entry.part
            ? item.data.subarray(entry.part.offset, entry.part.offset + entry.size)
            : item.data;
          return Readable.from([data]);
        }
        if (item.kind !== 'blob') throw new BaleError('E_IO', `internal: ${entry.path} has no content`);
        const path = await stager.get(item.digest);
        const start = entry.part?.offset ?? 0;
        const stream = createReadStream(path, { start, end: start + entry.size - 1, highWaterMark: 1 << 20 });
        stream.on('close', () => {
          // A digest carried in two repositories is staged once: give its window credit back once.
          const left = windowCredit.get(item.digest) ?? item.size;
          const credit = Math.min(left, entry.size);
          windowCredit.set(item.digest, left - credit);
          stager.consumed(credit);
        });
        return stream;
      };
      let result: WrittenVolume;
      try {
        result = await abortable(
          writeVolume(join(to, vol.name), vol.entries, open, {
            level,
            // Staged blobs were digest-checked when downloaded (or re-hashed when reused), and
            // bytes items were hashed in memory: the writer checks sizes, not digests, again.
            trustKnownDigests: true,
            onBytes: (n) => progress.advance(n),
          }),
          signal,
        );
      } catch (err) {
        throw asIoError(err, join(to, vol.name));
      }
      await journal.record({
        name: result.name,
        size: result.size,
        sha256: result.sha256,
        entries: result.entries.length,
        entryRecords: result.entries,
      });
      written.push(result);
      for (const [digest, last] of lastUse) if (last === vi) await stager.remove(digest);
    }

    // 8. The index, SHA256SUMS and the optional signature of the index.
    const entries = assembleEntries(plan, written);
    const index: BundleIndex = {
      schema: BUNDLE_SCHEMA,
      baleVersion: BALE_VERSION,
      created: (o.now?.() ?? new Date()).toISOString(),
      volumeSize,
      images: images.map(bundleImage),
      signatures: sigRecords,
      manifests: [configMapPath],
      volumes: written.map((w) => ({
        name: w.name,
        size: w.size,
        sha256: w.sha256,
        entries: w.entries.length,
      })),
      entries,
    };
    // `release` says where the release image is under v2/ (verify requires it, unpack mirrors
    // it): a --no-images bundle carries only its signatures, which name its digest and identity.
    if (!o.noImages) {
      index.release = {
        version: info.version,
        architecture,
        digest: relRoot.digest,
        source: releaseSource,
        repository: 'openshift/release',
        tag: releaseTag(info.version, architecture),
      };
    }
    if (graph) {
      index.graphData = {
        revision: graph.revision,
        digest: graph.root.digest,
        source: `${graph.src.registry}/${graph.src.repository}`,
        repository: 'openshift/graph-data',
        tag: graph.tag,
        signatures: graphSigRecords,
      };
      if (graph.signatureRoot) {
        index.graphData.signatureTag = graph.signatureTag;
        index.graphData.signatureDigest = graph.signatureRoot.digest;
      }
    }
    // Order matters for a crash: SHA256SUMS is written last, and .bale/ is removed after it.
    let signature: string | undefined;
    if (o.signKey) {
      const key = await readFile(o.signKey, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new BaleError('E_KEYRING', `cannot read --sign-key ${o.signKey}: ${err.code ?? err.message}`, {
          hint: 'Pass an armored OpenPGP private key file.',
        });
      });
      signature = await signDetached(Buffer.from(serializeIndex(index)), key);
      await writeFileAtomic(join(to, 'bundle.json.asc'), signature);
    }
    indexRewritten = true;
    const indexSum = await writeIndex(to, index);
    await writeSha256Sums(to, [
      { name: 'bundle.json', sha256: indexSum.sha256 },
      ...index.volumes.map((v) => ({ name: v.name, sha256: v.sha256 })),
    ]);

    if (o.verifyAfterWrite) {
      progress.phase('verify after write');
      const report = await verifyBundle(to, { keyrings, progress, ignore: [STATE_DIR] });
      if (!report.ok) {
        throw new BaleError(
          'E_VERIFY_FAILED',
          `the bundle does not read back as written: ${report.problems[0]?.message ?? ''}`,
          {
            hint: 'The medium may be failing. Run bale verify for the whole list, replace the medium and pack again.',
            details: { problems: report.problems },
          },
        );
      }
    }

    // Leftovers go in an order that a crash in between cannot turn into a wrong bundle:
    // staged blobs, then the journal (a re-run then rewrites identical volumes), then the lock.
    await rm(join(stateDir, 'blobs'), { recursive: true, force: true });
    await rm(join(stateDir, 'journal.json'), { force: true });
    await lock.release();
    await rm(stateDir, { recursive: true, force: true });

    const cstats = client.stats;
    return {
      bundleDir: to,
      release: { version: info.version, architecture, digest: relRoot.digest, source: releaseSource },
      images: images.length,
      blobs: entries.filter((e) => e.path.includes('/blobs/')).length,
      contentBytes: entries.reduce((n, e) => n + e.size, 0),
      volumes: index.volumes,
      signatures: sigRecords.map((s) => ({
        keyId: s.keyId,
        userId: s.userId,
        identity: s.identity,
        source: s.source,
      })),
      graphData: graph ? { revision: graph.revision, digest: graph.root.digest } : undefined,
      signed: signature !== undefined,
      stats: {
        blobsDownloaded: stager.stats.downloaded,
        blobsReused: stager.stats.reused,
        bytesDownloaded: stager.stats.bytesDownloaded,
        bytesResumed: stager.stats.bytesResumed,
        volumesReused: finished.size,
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
      await removeTempFiles(to).catch(() => undefined);
    } else {
      await removeIfUnused(to, stateDir, created);
    }
    if (signal?.aborted) {
      throw new BaleError('E_INTERRUPTED', 'pack interrupted', {
        hint: `Nothing finished is lost: run the same command again to continue into ${to}.`,
        details: { signal: (signal.reason as BaleError | undefined)?.details?.signal },
      });
    }
    throw err;
  } finally {
    if (signal?.aborted) await client?.destroy();
    else await client?.close();
  }
}

function planInput(item: PackItem): PlanInput {
  const group = String(item.group);
  switch (item.kind) {
    case 'blob':
      return { path: item.path, type: 'file', size: item.size, sha256: digestHex(item.digest), group };
    case 'bytes':
      return {
        path: item.path,
        type: 'file',
        size: item.size,
        sha256: createHash('sha256').update(item.data).digest('hex'),
        group,
      };
    case 'hardlink':
      return { path: item.path, type: 'hardlink', size: 0, linkTarget: item.target, group };
    case 'symlink':
      return { path: item.path, type: 'symlink', size: 0, linkTarget: item.target, group };
  }
}

function bundleImage(img: CollectedImage): BundleImage {
  const out: BundleImage = {
    name: img.name,
    source: `${img.src.registry}/${img.src.repository}`,
    repository: img.repository,
    digest: img.root.digest,
    mediaType: img.root.mediaType,
    size: treeSize(img.root),
    tags: img.tags,
  };
  if (img.root.children.length > 0) out.children = img.root.children.map((c) => c.digest);
  return out;
}

async function loadKeyrings(paths: string[] | undefined): Promise<Keyring[]> {
  const list = paths?.length ? paths : [defaultKeyringPath()];
  return Promise.all(list.map((p) => loadKeyring(p)));
}

/** Temporary files pack writes beside the bundle (renamed into place once complete). */
const TEMP_FILE = /^(volume-\d{3,}\.tar\.zst|bundle\.json|bundle\.json\.asc|SHA256SUMS)\.tmp$/;

/** An interrupted pack (we hold the lock): drop the temporary files it may have left. */
async function removeTempFiles(to: string): Promise<void> {
  for (const name of await readdir(to)) if (TEMP_FILE.test(name)) await rm(join(to, name), { force: true });
}

/**
 * After a failure: when nothing was staged and no volume written, leave no state behind
 * (and no directory, if this pack made it). rmdir only removes empty directories, so
 * anything worth resuming stays.
 */
async function removeIfUnused(to: string, stateDir: string, created: boolean): Promise<void> {
  try {
    await rmdir(join(stateDir, 'blobs'));
    await rmdir(stateDir);
    if (created) await rmdir(to);
  } catch {
    // Something is there: keep it for the next run.
  }
}

/**
 * The target already holds a finished bundle. If its index describes exactly the bundle
 * this plan writes (same volumes, same entries, sizes and digests), its volumes are
 * handed to the journal as finished: the usual resume path then re-checks each volume's
 * sha256, keeps the intact ones and rewrites the rest. Other content is refused.
 */
async function adoptFinishedBundle(to: string, plan: VolumePlan, journal: PackJournal): Promise<void> {
  const refuse = (why: string) =>
    new BaleError('E_CONFIG', `${to} already holds a finished bundle of other content (${why})`, {
      hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
    });
  const existing = await readIndex(to).catch(() => undefined);
  if (!existing) throw refuse('its bundle.json does not read');
  if (existing.volumeSize !== plan.volumeSize) throw refuse('another --volume-size');
  if (existing.volumes.length !== plan.volumes.length) throw refuse('another number of volumes');
  for (const [i, vol] of plan.volumes.entries()) {
    const have = existing.volumes[i];
    if (have?.name !== vol.name) throw refuse(`no ${vol.name}`);
    const entries = expectedEntries(existing, vol.name);
    if (entries.length !== vol.entries.length) throw refuse(`${vol.name} holds other entries`);
    const records: BundleEntry[] = [];
    for (const [j, want] of vol.entries.entries()) {
      const got = entries[j];
      if (
        got?.path !== want.path ||
        got.type !== want.type ||
        got.size !== want.size ||
        got.linkTarget !== want.linkTarget ||
        (want.sha256 !== undefined && got.sha256 !== want.sha256)
      ) {
        throw refuse(`${vol.name}: ${want.path} differs`);
      }
      const rec: BundleEntry = { path: got.path, type: got.type, size: got.size, volume: vol.name };
      if (got.sha256 !== undefined) rec.sha256 = got.sha256;
      if (got.linkTarget !== undefined) rec.linkTarget = got.linkTarget;
      records.push(rec);
    }
    if (!journal.finished(vol.name)) {
      await journal.record({
        name: have.name,
        size: have.size,
        sha256: have.sha256,
        entries: have.entries,
        entryRecords: records,
      });
    }
  }
}

/**
 * The target is new, empty, or an interrupted pack (it has .bale/). Anything else is
 * refused. Returns whether the directory did not exist before.
 */
async function prepareTarget(to: string): Promise<{ created: boolean; finished: boolean }> {
  const existed = await stat(to).then(
    () => true,
    () => false,
  );
  await mkdir(to, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw ioError(err, to);
  });
  const names = await readdir(to);
  if (names.length === 0 || names.includes(STATE_DIR)) return { created: !existed, finished: false };
  // A finished bundle: the same command run again (say, after a crash just as it ended)
  // checks it against its plan and keeps it; other content is refused once planned.
  if (names.includes('bundle.json') && names.includes('SHA256SUMS'))
    return { created: false, finished: true };
  if (names.includes('bundle.json')) {
    throw new BaleError('E_CONFIG', `${to} already holds a bundle that is not finished by bale`, {
      hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
    });
  }
  throw new BaleError('E_CONFIG', `${to} is not empty and holds no bale bundle`, {
    hint: 'Choose an empty or new directory for --to; bale never mixes a bundle with other files.',
  });
}

function asIoError(err: unknown, path: string): unknown {
  if (err instanceof BaleError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    if (err.code === 'E_IO' && (cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT'))
      return ioError(cause, path);
    return err;
  }
  if (err && typeof err === 'object' && 'code' in err) return ioError(err as NodeJS.ErrnoException, path);
  return err;
}
