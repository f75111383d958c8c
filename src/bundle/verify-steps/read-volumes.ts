/**
 * Verify step 3: every selected volume read once (size and sha256 of the file, each
 * entry against the index), small content kept for the deeper checks, split entries
 * joined and hashed. Volumes no split entry links are independent and read in parallel
 * (bounded); the volumes of a split entry are read in order, one after the other.
 */
import { sigstorePayloadPaths } from '../sigstore-checks.js';
import { createHash, type Hash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import pLimit from 'p-limit';
import { MAX_SMALL_CONTENT } from '../completeness.js';
import type { BundleEntry, BundleIndex } from '../index-schema.js';
import type { OpenedBundle } from '../open-bundle.js';
import type { Problem } from '../problem.js';
import { SUMS_FILE, hashFile } from '../sha256sums.js';
import { readFileChunks } from '../file-chunks.js';
import type { ExpectedEntry } from '../volume-reader.js';
import type { EntryTap, TapSink } from './entry-tap.js';
import { messageOf } from '../../errors.js';
import type { Progress } from '../../progress.js';

/** Volumes read at the same time: each costs a zstd stream and a CPU. */
export const MAX_PARALLEL_VOLUMES = 4;

export interface VolumeFindings {
  /** Small content (manifests, signatures, config/ and manifests/ files) by entry path, as verified. */
  content: Map<string, Buffer>;
  /** Paths of such content too large to keep. */
  tooLarge: Set<string>;
  checked: { volumes: number; entries: number; bytes: number };
}

interface SplitHash {
  hash: Hash;
  next: number;
  broken: boolean;
}

/** Entries whose content verify keeps in memory for the deeper checks. */
function wantsContent(path: string, manifestBlobs: Set<string>): boolean {
  return (
    path.startsWith('signatures/') ||
    path.startsWith('config/') ||
    path.startsWith('manifests/') ||
    manifestBlobs.has(path)
  );
}

/** Groups volumes into chains: volumes holding parts of one split entry share a chain. */
export function volumeChains(index: BundleIndex, selected: readonly string[]): string[][] {
  const group = new Map<string, number>(selected.map((v, i) => [v, i]));
  for (const e of index.entries) {
    const ids = [...new Set((e.parts ?? []).map((p) => group.get(p.volume)))].filter(
      (g): g is number => g !== undefined,
    );
    if (ids.length < 2) continue;
    const target = Math.min(...ids);
    for (const [v, g] of group) if (ids.includes(g)) group.set(v, target);
  }
  const chains = new Map<number, string[]>();
  for (const v of selected) {
    const g = group.get(v) ?? -1;
    chains.set(g, [...(chains.get(g) ?? []), v]);
  }
  return [...chains.values()];
}

export async function readVolumes(
  bundle: OpenedBundle,
  only: Set<string> | undefined,
  o: { progress: Progress; tap?: EntryTap; concurrency?: number; signal?: AbortSignal },
  add: (p: Problem) => void,
): Promise<VolumeFindings> {
  const idx = bundle.index;
  const audit = new VolumeAudit(bundle, o);
  const selected = idx.volumes.filter((v) => only === undefined || only.has(v.name));
  o.progress.phase('verify', { bytes: selected.reduce((n, v) => n + v.size, 0), items: selected.length });
  const byName = new Map(selected.map((v) => [v.name, v]));
  const chains = volumeChains(
    idx,
    selected.map((v) => v.name),
  );
  const limit = pLimit(Math.max(1, Math.min(o.concurrency ?? MAX_PARALLEL_VOLUMES, MAX_PARALLEL_VOLUMES)));
  try {
    await Promise.all(
      chains.map((chain) =>
        limit(async () => {
          for (const name of chain) {
            o.signal?.throwIfAborted();
            const v = byName.get(name);
            if (v !== undefined) await audit.readOne(v);
          }
        }),
      ),
    );
  } catch (err) {
    limit.clearQueue();
    audit.failOpenSinks(err as Error);
    throw err;
  } finally {
    // Problems of parallel volumes are reported in bundle order, as a sequential read would.
    for (const v of selected) for (const p of audit.perVolume.get(v.name) ?? []) add(p);
  }
  // A split entry whose last part was never reached: its sink learns it now.
  audit.failOpenSinks(new Error('not every part was read'));
  if (only === undefined) checkSplitEntries(idx, audit.splitHashes, add);
  return audit.found;
}

/** The state of one verify's volume reads: what is kept, split entries' hashes and sinks. */
class VolumeAudit {
  readonly found: VolumeFindings = {
    content: new Map(),
    tooLarge: new Set(),
    checked: { volumes: 0, entries: 0, bytes: 0 },
  };
  readonly splitHashes = new Map<string, SplitHash>();
  readonly perVolume = new Map<string, Problem[]>();
  /** A split entry's sink lives across its parts (and so across volumes of one chain). */
  private readonly splitSinks = new Map<string, TapSink | undefined>();
  private readonly locate = new Map<string, string>();
  private readonly manifestBlobs = new Set<string>();
  private readonly partOf = new Map<string, { entry: BundleEntry; index: number }>();

  constructor(
    private readonly bundle: OpenedBundle,
    private readonly o: { progress: Progress; tap?: EntryTap; signal?: AbortSignal },
  ) {
    for (const e of bundle.index.entries) {
      if (e.parts) for (const p of e.parts) this.locate.set(p.path, p.volume);
      else if (e.volume !== undefined) this.locate.set(e.path, e.volume);
      if (e.type === 'hardlink' && e.linkTarget !== undefined) this.manifestBlobs.add(e.linkTarget);
      e.parts?.forEach((p, i) => this.partOf.set(p.path, { entry: e, index: i }));
    }
    // Sigstore payloads are small blobs the signature checks read.
    for (const p of sigstorePayloadPaths(bundle.index)) this.manifestBlobs.add(p);
  }

  failOpenSinks(reason: Error): void {
    for (const s of this.splitSinks.values()) s?.fail(reason);
    this.splitSinks.clear();
  }

  private breakSplit(path: string, reason: Error): void {
    const part = this.partOf.get(path);
    if (part === undefined) return;
    const whole = this.splitHashes.get(part.entry.path);
    if (whole) whole.broken = true;
    else this.splitHashes.set(part.entry.path, { hash: createHash('sha256'), next: -1, broken: true });
    this.splitSinks.get(part.entry.path)?.fail(reason);
    this.splitSinks.set(part.entry.path, undefined);
  }

  /** The sink for an entry's bytes: the tap's, or for a part the one its whole entry opened. */
  private async sinkFor(
    volume: string,
    e: ExpectedEntry,
    whole: SplitHash | undefined,
  ): Promise<TapSink | undefined> {
    const part = this.partOf.get(e.path);
    if (part === undefined || whole === undefined) return this.o.tap?.entry(volume, e);
    if (part.index === 0 && !whole.broken) {
      const wholeExpected = { path: part.entry.path, type: 'file' as const, size: part.entry.size };
      this.splitSinks.set(
        part.entry.path,
        await this.o.tap?.entry(volume, { ...wholeExpected, ...shaOf(part.entry) }),
      );
    }
    return whole.broken ? undefined : this.splitSinks.get(part.entry.path);
  }

  private async onEntry(
    volume: string,
    e: ExpectedEntry,
    stream: AsyncIterable<unknown> | undefined,
  ): Promise<void> {
    const found = this.found;
    found.checked.entries++;
    if (stream === undefined) return;
    const part = this.partOf.get(e.path);
    const keep = part === undefined && wantsContent(e.path, this.manifestBlobs);
    if (keep && e.size > MAX_SMALL_CONTENT) found.tooLarge.add(e.path);
    const collect = keep && e.size <= MAX_SMALL_CONTENT;
    let whole: SplitHash | undefined;
    if (part !== undefined) {
      whole = this.splitHashes.get(part.entry.path);
      if (whole === undefined) {
        whole = { hash: createHash('sha256'), next: 0, broken: false };
        this.splitHashes.set(part.entry.path, whole);
      }
      if (whole.next !== part.index) whole.broken = true;
    }
    const sink = await this.sinkFor(volume, e, whole);
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) {
        const b = c as Buffer;
        found.checked.bytes += b.length;
        if (collect) chunks.push(b);
        whole?.hash.update(b);
        if (sink) await sink.write(b);
      }
    } catch (err) {
      if (part === undefined) sink?.fail(err as Error);
      else this.breakSplit(e.path, err as Error);
      throw err;
    }
    // The stream ended cleanly: these are the bytes the index vouches for.
    if (collect) found.content.set(e.path, Buffer.concat(chunks));
    if (whole === undefined || part === undefined) {
      if (sink) await sink.end();
      return;
    }
    whole.next = part.index + 1;
    if (part.index !== (part.entry.parts?.length ?? 0) - 1) return;
    const s = this.splitSinks.get(part.entry.path);
    this.splitSinks.delete(part.entry.path);
    if (s && !whole.broken) {
      if (whole.hash.copy().digest('hex') === part.entry.sha256) await s.end();
      else s.fail(new Error(`${part.entry.path}: its parts do not join to the indexed sha256`));
    }
  }

  /** Reads one volume: its listing, size, every entry, and its sha256 (hashed on the way). */
  async readOne(vol: { name: string; size: number; sha256: string }): Promise<void> {
    const problems: Problem[] = [];
    this.perVolume.set(vol.name, problems);
    const addHere = (p: Problem): void => {
      problems.push(p);
    };
    const { bundle, progress, signal } = {
      bundle: this.bundle,
      progress: this.o.progress,
      signal: this.o.signal,
    };
    const listed = bundle.sums?.get(vol.name);
    if (bundle.sums !== undefined && listed === undefined) {
      addHere({
        code: 'E_BUNDLE_INVALID',
        file: SUMS_FILE,
        volume: vol.name,
        message: `${SUMS_FILE} does not list ${vol.name}`,
      });
    } else if (listed !== undefined && listed !== vol.sha256) {
      addHere({
        code: 'E_BUNDLE_CORRUPT',
        volume: vol.name,
        message: `${vol.name}: ${SUMS_FILE} says sha256 ${listed}, bundle.json says ${vol.sha256}`,
      });
    }
    const path = bundle.volumePath(vol.name);
    const st = await stat(path).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      addHere(
        st === undefined
          ? {
              code: 'E_BUNDLE_INCOMPLETE',
              volume: vol.name,
              message: `${vol.name} is missing from ${bundle.dir}`,
            }
          : { code: 'E_BUNDLE_INVALID', volume: vol.name, message: `${vol.name} is not a regular file` },
      );
      return this.failVolumeSinks(vol.name);
    }
    const size = st.size;
    if (size !== vol.size) {
      addHere({
        code: 'E_BUNDLE_CORRUPT',
        volume: vol.name,
        message: `${vol.name} is ${size} bytes, bundle.json says ${vol.size}`,
      });
    }
    const fileHash = createHash('sha256');
    let hashed = 0;
    async function* tapFile(): AsyncGenerator<Buffer> {
      // Each chunk is done with (hashed, decompressed) before the next is read.
      for await (const b of readFileChunks(path)) {
        // An interrupt stops the read at the next chunk (the caller reports the abort).
        signal?.throwIfAborted();
        fileHash.update(b);
        hashed += b.length;
        progress.advance(b.length);
        yield b;
      }
    }
    const result = await bundle.readVolume(vol.name, {
      source: tapFile(),
      locate: (p) => this.locate.get(p),
      onProblem: (p) => {
        addHere(p);
        this.breakSplit(p.entry ?? '', new Error(p.message));
      },
      onEntry: (e, stream) => this.onEntry(vol.name, e, stream),
      ...(signal ? { signal } : {}),
    });
    let actual: string | undefined;
    if (result.aborted || hashed !== size) {
      try {
        actual = (await hashFile(path)).sha256;
      } catch (err) {
        addHere({ code: 'E_IO', volume: vol.name, message: `cannot read ${vol.name}: ${messageOf(err)}` });
      }
    } else {
      actual = fileHash.digest('hex');
    }
    if (actual !== undefined && actual !== vol.sha256) {
      addHere({
        code: 'E_BUNDLE_CORRUPT',
        volume: vol.name,
        message: `${vol.name} has sha256 ${actual}, bundle.json says ${vol.sha256}`,
      });
    }
    this.found.checked.volumes++;
  }

  /** A volume that cannot be read breaks the split entries it holds a part of. */
  private failVolumeSinks(volume: string): void {
    for (const e of this.bundle.index.entries)
      for (const p of e.parts ?? [])
        if (p.volume === volume) this.breakSplit(p.path, new Error(`${volume} cannot be read`));
  }
}

function shaOf(e: BundleEntry): { sha256?: string } {
  return e.sha256 === undefined ? {} : { sha256: e.sha256 };
}

/** Entries split across volumes: their parts, joined in order, hash to the indexed sha256. */
function checkSplitEntries(
  idx: BundleIndex,
  splitHashes: Map<string, SplitHash>,
  add: (p: Problem) => void,
): void {
  for (const e of idx.entries) {
    if (e.parts === undefined) continue;
    const whole = splitHashes.get(e.path);
    if (whole === undefined || whole.broken || whole.next !== e.parts.length) continue;
    const actual = whole.hash.digest('hex');
    if (actual !== e.sha256) {
      add({
        code: 'E_DIGEST_MISMATCH',
        entry: e.path,
        digest: `sha256:${e.sha256 ?? ''}`,
        message: `${e.path}: its parts join to sha256 ${actual}, bundle.json says ${e.sha256 ?? ''}`,
      });
    }
  }
}
