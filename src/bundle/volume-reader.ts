import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { entryPathProblem } from './entry-path.js';
import type { BundleEntryType } from './index-schema.js';
import { tarEntryBytes } from './plan.js';
import type { Problem } from './problem.js';
import { StrictTarScanner } from './tar-strict.js';
import { checkEntryContent, type EntryContentContext, type TarEntry } from './volume-entry-content.js';
import { digestOf, entryHeaderProblem, type EntryCheckState } from './volume-entry-check.js';
import { feedVolume, type VolumeFeed } from './volume-feed.js';
import { zstdDecompress } from './zstd-decompress.js';

/** What the index says one volume entry (a whole entry or a part) is. */
export interface ExpectedEntry {
  /** Path in the volume (`<path>.part-NNN` for a part). */
  path: string;
  type: BundleEntryType;
  size: number;
  sha256?: string;
  linkTarget?: string;
}

export interface ReadVolumeOptions {
  /** Volume name, for messages. */
  volume: string;
  /** The entries the index puts in this volume. */
  expected: readonly ExpectedEntry[];
  /** Which volume the index puts a path in (to name an entry found in the wrong volume). */
  locate?: (path: string) => string | undefined;
  /**
   * Called for each entry that matches the index. Files get their content as a stream
   * that errors (E_SIZE_MISMATCH / E_DIGEST_MISMATCH) instead of ending if the bytes
   * are not what the index says. Content the handler leaves unread is read and checked
   * after it returns. An error the handler throws that is not such a check failure
   * stops the read and is rethrown.
   */
  onEntry?: (entry: ExpectedEntry, content: Readable | undefined) => Promise<void> | void;
  /** Collect problems. Without it, the first problem is thrown as a BaleError. */
  onProblem?: (problem: Problem) => void;
  /** Cap on decompressed bytes; defaults to what the expected entries can take as tar plus 64 KiB. */
  maxOutput?: number;
  /**
   * Check each file's sha256 against the index (default true). Only for a re-read of a
   * volume that was verified in full and whose content the consumer checks again itself
   * (unpack's push pass: the upload hashes every blob and the registry checks its
   * digest); paths, types, links and sizes are checked all the same.
   */
  checkDigests?: boolean;
}

export interface ReadVolumeResult {
  /** Entries seen in the tar stream. */
  entries: number;
  /** Entries that matched the index and whose content checked. */
  verified: number;
  /** Reading stopped before the end (a problem that makes the rest unreadable or unsafe). */
  aborted: boolean;
}

/** Largest decompressed size a volume holding `expected` can have. */
export function maxVolumeBytes(expected: readonly ExpectedEntry[]): number {
  let n = 1024 + 64 * 1024;
  for (const e of expected) n += tarEntryBytes(e.path, e.size, e.linkTarget);
  return n;
}

/** One volume read in progress: what the entry loop and the end of the read share. */
interface VolumeRead {
  volume: string;
  opts: ReadVolumeOptions;
  report: (problem: Omit<Problem, 'volume'>) => void;
  checks: EntryCheckState & { seen: Set<string>; seenFiles: Set<string> };
  content: EntryContentContext;
  /** Errors the caller's onEntry threw (rethrown as they are, never reported). */
  handlerErrors: WeakSet<object>;
  callHandler: (e: ExpectedEntry, content: Readable | undefined) => Promise<void>;
  result: ReadVolumeResult;
}

/**
 * Reads one volume (zstd → tar) without trusting it, checking every entry against the
 * index: strict tar (tar-strict.ts), safe path, allowed type, sane links, listed in the
 * index for this volume, no duplicates, size and sha256. Nothing is written to disk.
 * Reading stops at the first entry larger than the index says (never reading its body)
 * and when the decompressed stream passes `maxOutput`.
 *
 * The steps: start feeding the decompressed bytes to the tar parser (volume-feed.ts),
 * check each entry's header (volume-entry-check.ts) and content (volume-entry-content.ts),
 * then settle how the read ended (a feed error, entries the index lists but the volume
 * lacks).
 */
export async function readVolume(
  source: AsyncIterable<Buffer | Uint8Array>,
  opts: ReadVolumeOptions,
): Promise<ReadVolumeResult> {
  const read = startRead(opts);
  const extract = tar.extract();
  const input = zstdDecompress(source, {
    maxOutput: opts.maxOutput ?? maxVolumeBytes(opts.expected),
    what: read.volume,
    volume: read.volume,
  });
  const feed = feedVolume(input, new StrictTarScanner(read.volume), extract);
  const iterator = extract[Symbol.asyncIterator]();
  try {
    await readEntries(iterator, read);
  } catch (err) {
    read.result.aborted = true;
    await iterator.return?.().catch(() => undefined);
    await feed.done;
    return failedRead(err, feed, read);
  }
  if (read.result.aborted) await iterator.return?.().catch(() => undefined);
  await feed.done;
  return finishRead(feed, read);
}

function startRead(opts: ReadVolumeOptions): VolumeRead {
  const volume = opts.volume;
  const expected = new Map<string, ExpectedEntry>();
  for (const e of opts.expected) expected.set(e.path, e);
  const report = problemReporter(volume, opts.onProblem);
  const handlerErrors = new WeakSet<object>();
  const callHandler = async (e: ExpectedEntry, content: Readable | undefined): Promise<void> => {
    try {
      await opts.onEntry?.(e, content);
    } catch (err) {
      if (typeof err === 'object' && err !== null) handlerErrors.add(err);
      throw err;
    }
  };
  return {
    volume,
    opts,
    report,
    checks: { volume, expected, seen: new Set(), seenFiles: new Set(), locate: opts.locate },
    content: {
      volume,
      checkDigests: opts.checkDigests !== false,
      ...(opts.onEntry ? { handle: callHandler } : {}),
      report,
    },
    handlerErrors,
    callHandler,
    result: { entries: 0, verified: 0, aborted: false },
  };
}

/** Without onProblem, the first problem is thrown as a BaleError with a hint. */
function problemReporter(
  volume: string,
  onProblem: ((problem: Problem) => void) | undefined,
): (p: Omit<Problem, 'volume'>) => void {
  return (p) => {
    if (onProblem) {
      onProblem({ ...p, volume });
      return;
    }
    const details: Record<string, unknown> = { volume };
    if (p.entry !== undefined) details.entry = p.entry;
    if (p.digest !== undefined) details.digest = p.digest;
    throw new BaleError(p.code, p.message, { details, hint: hintFor(p.code) });
  };
}

/** The entry loop: each header checked, then its content; stops at a fatal problem. */
async function readEntries(iterator: AsyncIterator<TarEntry>, read: VolumeRead): Promise<void> {
  const { checks, result } = read;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    const stream = next.value;
    const h = stream.header;
    result.entries++;
    const problem = entryHeaderProblem(h, checks);
    if (entryPathProblem(h.name) === undefined) checks.seen.add(h.name);
    if (problem !== undefined) {
      const { fatal, ...p } = problem;
      read.report(p);
      if (fatal) {
        result.aborted = true;
        return;
      }
      await drain(stream);
      continue;
    }
    const exp = checks.expected.get(h.name) as ExpectedEntry;
    if (h.type !== 'file') {
      await drain(stream);
      await read.callHandler(exp, undefined);
      result.verified++;
      continue;
    }
    checks.seenFiles.add(h.name);
    if (await checkEntryContent(stream, exp, read.content)) result.verified++;
  }
}

/** The entry loop threw: the handler's own error, a feed error, or a broken tar stream. */
function failedRead(err: unknown, feed: VolumeFeed, read: VolumeRead): ReadVolumeResult {
  const { volume, result } = read;
  if (typeof err === 'object' && err !== null && read.handlerErrors.has(err)) throw err;
  const feedError = feed.error();
  if (feedError !== undefined) {
    read.report({
      code: isBaleError(feedError) ? feedError.code : 'E_BUNDLE_CORRUPT',
      message: isBaleError(feedError) ? feedError.message : `${volume}: ${messageOf(feedError)}`,
    });
    return result;
  }
  if (!isBaleError(err)) {
    read.report({
      code: 'E_BUNDLE_CORRUPT',
      message: `${volume}: not a valid tar stream (${messageOf(err)})`,
    });
    return result;
  }
  throw err;
}

/** The entry loop ended: a late feed error, or entries the index lists that never came. */
function finishRead(feed: VolumeFeed, read: VolumeRead): ReadVolumeResult {
  const { volume, result } = read;
  const feedError = feed.error();
  if (feedError !== undefined && !result.aborted) {
    result.aborted = true;
    read.report({
      code: isBaleError(feedError) ? feedError.code : 'E_BUNDLE_CORRUPT',
      message: messageOf(feedError),
    });
    return result;
  }
  if (!result.aborted) {
    for (const e of read.opts.expected) {
      if (!read.checks.seen.has(e.path)) {
        read.report({
          code: 'E_BUNDLE_INCOMPLETE',
          entry: e.path,
          ...digestOf(e),
          message: `${volume}: entry ${e.path} listed in bundle.json is missing from the volume`,
        });
      }
    }
  }
  return result;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream); // discard
}

function hintFor(code: string): string {
  switch (code) {
    case 'E_BUNDLE_HOSTILE':
      return 'Do not use this bundle: it holds content that could escape the target directory or is not what bundle.json describes.';
    case 'E_BUNDLE_INCOMPLETE':
      return 'The bundle is missing content: pack it again or copy the missing volume.';
    default:
      return 'The volume is damaged or does not match bundle.json: copy it again, or run `bale verify` for the full list of problems.';
  }
}
