import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { entryPathProblem, linkProblem } from './entry-path.js';
import type { BundleEntryType } from './index-schema.js';
import { tarEntryBytes } from './plan.js';
import type { Problem } from './problem.js';
import { StrictTarScanner } from './tar-strict.js';
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

const HANDLED_TYPES = new Set(['file', 'symlink', 'link']);

/** Largest decompressed size a volume holding `expected` can have. */
export function maxVolumeBytes(expected: readonly ExpectedEntry[]): number {
  let n = 1024 + 64 * 1024;
  for (const e of expected) n += tarEntryBytes(e.path, e.size, e.linkTarget);
  return n;
}

/**
 * Reads one volume (zstd → tar) without trusting it, checking every entry against the
 * index: strict tar (tar-strict.ts), safe path, allowed type, sane links, listed in the
 * index for this volume, no duplicates, size and sha256. Nothing is written to disk.
 * Reading stops at the first entry larger than the index says (never reading its body)
 * and when the decompressed stream passes `maxOutput`.
 */
export async function readVolume(
  source: AsyncIterable<Buffer | Uint8Array>,
  opts: ReadVolumeOptions,
): Promise<ReadVolumeResult> {
  const volume = opts.volume;
  const expected = new Map<string, ExpectedEntry>();
  for (const e of opts.expected) expected.set(e.path, e);
  const report = (p: Omit<Problem, 'volume'>): void => {
    const problem: Problem = { ...p, volume };
    if (opts.onProblem) {
      opts.onProblem(problem);
      return;
    }
    const details: Record<string, unknown> = { volume };
    if (p.entry !== undefined) details.entry = p.entry;
    if (p.digest !== undefined) details.digest = p.digest;
    throw new BaleError(p.code, p.message, {
      details,
      hint: hintFor(p.code),
    });
  };

  const extract = tar.extract();
  let feedError: unknown;
  const input = zstdDecompress(source, {
    maxOutput: opts.maxOutput ?? maxVolumeBytes(opts.expected),
    what: volume,
    volume,
  });
  const strict = new StrictTarScanner(volume);
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        // The reader stopped (a fatal problem): no more input, no wait for a 'close' already gone.
        if (extract.destroyed) throw new Error('extract closed');
        strict.push(chunk);
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            if (extract.destroyed) return reject(new Error('extract closed'));
            const onClose = (): void => reject(new Error('extract closed'));
            extract.once('drain', () => {
              extract.off('close', onClose);
              resolve();
            });
            extract.once('close', onClose);
          });
        }
      }
      extract.end(undefined);
    } catch (err) {
      if (!extract.destroyed) {
        feedError = err;
        extract.destroy(err instanceof Error ? err : new Error(messageOf(err)));
      }
    }
  })();

  const handlerErrors = new WeakSet<object>();
  const callHandler = async (e: ExpectedEntry, content: Readable | undefined): Promise<void> => {
    try {
      await opts.onEntry?.(e, content);
    } catch (err) {
      if (typeof err === 'object' && err !== null) handlerErrors.add(err);
      throw err;
    }
  };
  const seen = new Set<string>();
  const seenFiles = new Set<string>();
  const result: ReadVolumeResult = { entries: 0, verified: 0, aborted: false };
  const iterator = extract[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const stream = next.value;
      const h = stream.header;
      const name = h.name;
      result.entries++;
      const pathBad = entryPathProblem(name);
      const type = h.type as string;
      const problem = ((): (Omit<Problem, 'volume'> & { fatal?: boolean }) | undefined => {
        if (pathBad !== undefined) {
          return {
            code: 'E_BUNDLE_HOSTILE',
            entry: name,
            message: `${volume}: entry ${JSON.stringify(name)} ${pathBad}`,
          };
        }
        if (!HANDLED_TYPES.has(type)) {
          return {
            code: 'E_BUNDLE_HOSTILE',
            entry: name,
            message: `${volume}: entry ${name} is a ${type}, not a file or link`,
          };
        }
        if (type === 'file' && (h.mode & 0o7000) !== 0) {
          return {
            code: 'E_BUNDLE_HOSTILE',
            entry: name,
            message: `${volume}: entry ${name} has mode ${h.mode.toString(8)} (setuid/setgid/sticky)`,
          };
        }
        if (type !== 'file') {
          const kind = type === 'link' ? 'hardlink' : 'symlink';
          const bad = linkProblem(kind, name, h.linkname);
          if (bad !== undefined)
            return { code: 'E_BUNDLE_HOSTILE', entry: name, message: `${volume}: entry ${name}: ${bad}` };
          if (kind === 'hardlink' && !seenFiles.has(h.linkname)) {
            return {
              code: 'E_BUNDLE_HOSTILE',
              entry: name,
              message: `${volume}: hard link ${name} points to ${h.linkname}, which is not earlier in this volume`,
            };
          }
        }
        if (seen.has(name)) {
          return {
            code: 'E_BUNDLE_INVALID',
            entry: name,
            message: `${volume}: entry ${name} appears more than once`,
          };
        }
        const exp = expected.get(name);
        if (exp === undefined) {
          const other = opts.locate?.(name);
          return {
            code: 'E_BUNDLE_INVALID',
            entry: name,
            message:
              other === undefined
                ? `${volume}: entry ${name} is not in bundle.json`
                : `${volume}: entry ${name} belongs in ${other} according to bundle.json`,
          };
        }
        const indexType = exp.type === 'hardlink' ? 'link' : exp.type;
        if (indexType !== type) {
          return {
            code: 'E_BUNDLE_INVALID',
            entry: name,
            message: `${volume}: entry ${name} is a ${type}, bundle.json says ${exp.type}`,
          };
        }
        if (type !== 'file' && h.linkname !== exp.linkTarget) {
          return {
            code: 'E_BUNDLE_INVALID',
            entry: name,
            message: `${volume}: link ${name} points to ${h.linkname}, bundle.json says ${exp.linkTarget}`,
          };
        }
        if (type === 'file' && h.size > exp.size) {
          return {
            code: 'E_SIZE_MISMATCH',
            entry: name,
            fatal: true,
            ...digestOf(exp),
            message: `${volume}: entry ${name} is ${h.size} bytes, bundle.json says ${exp.size}; stopped reading this volume`,
          };
        }
        if (type === 'file' && h.size < exp.size) {
          return {
            code: 'E_SIZE_MISMATCH',
            entry: name,
            ...digestOf(exp),
            message: `${volume}: entry ${name} is ${h.size} bytes, bundle.json says ${exp.size}`,
          };
        }
        return undefined;
      })();

      if (pathBad === undefined) seen.add(name);
      if (problem !== undefined) {
        const { fatal, ...p } = problem;
        report(p);
        if (fatal) {
          result.aborted = true;
          break;
        }
        await drain(stream);
        continue;
      }
      const exp = expected.get(name) as ExpectedEntry;
      if (type !== 'file') {
        await drain(stream);
        await callHandler(exp, undefined);
        result.verified++;
        continue;
      }
      seenFiles.add(name);
      const ok = await checkContent(stream, exp);
      if (ok) result.verified++;
    }
  } catch (err) {
    result.aborted = true;
    await iterator.return?.().catch(() => undefined);
    await feeding;
    if (typeof err === 'object' && err !== null && handlerErrors.has(err)) throw err;
    if (feedError !== undefined) {
      report({
        code: isBaleError(feedError) ? feedError.code : 'E_BUNDLE_CORRUPT',
        message: isBaleError(feedError) ? feedError.message : `${volume}: ${messageOf(feedError)}`,
      });
      return result;
    }
    if (!isBaleError(err)) {
      report({ code: 'E_BUNDLE_CORRUPT', message: `${volume}: not a valid tar stream (${messageOf(err)})` });
      return result;
    }
    throw err;
  }
  if (result.aborted) {
    await iterator.return?.().catch(() => undefined);
  }
  await feeding;
  if (feedError !== undefined && !result.aborted) {
    result.aborted = true;
    report({
      code: isBaleError(feedError) ? feedError.code : 'E_BUNDLE_CORRUPT',
      message: messageOf(feedError),
    });
    return result;
  }
  if (!result.aborted) {
    for (const e of opts.expected) {
      if (!seen.has(e.path)) {
        report({
          code: 'E_BUNDLE_INCOMPLETE',
          entry: e.path,
          ...digestOf(e),
          message: `${volume}: entry ${e.path} listed in bundle.json is missing from the volume`,
        });
      }
    }
  }
  return result;

  async function checkContent(
    stream: tar.Extract extends AsyncIterable<infer S> ? S : never,
    exp: ExpectedEntry,
  ): Promise<boolean> {
    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const hash = opts.checkDigests === false ? undefined : createHash('sha256');
    let bytes = 0;
    let ended = false;
    let failure: BaleError | undefined;
    const pull = async (): Promise<Buffer | undefined> => {
      const r = await it.next();
      if (r.done) {
        ended = true;
        return undefined;
      }
      bytes += r.value.length;
      hash?.update(r.value);
      return r.value;
    };
    const finish = (): BaleError | undefined => {
      if (bytes !== exp.size) {
        return new BaleError(
          'E_SIZE_MISMATCH',
          `${volume}: entry ${exp.path} is ${bytes} bytes, bundle.json says ${exp.size}`,
        );
      }
      const actual = hash?.digest('hex');
      if (exp.sha256 !== undefined && actual !== undefined && actual !== exp.sha256) {
        return new BaleError(
          'E_DIGEST_MISMATCH',
          `${volume}: entry ${exp.path} has sha256 ${actual}, bundle.json says ${exp.sha256}`,
          {
            details: {
              volume,
              entry: exp.path,
              expectedDigest: `sha256:${exp.sha256}`,
              actualDigest: `sha256:${actual}`,
            },
          },
        );
      }
      return undefined;
    };
    if (opts.onEntry) {
      const verified = async function* (): AsyncGenerator<Buffer> {
        for (;;) {
          const chunk = await pull();
          if (chunk === undefined) break;
          yield chunk;
        }
        failure = finish();
        if (failure) throw failure;
      };
      try {
        await callHandler(exp, Readable.from(verified(), { objectMode: false }));
      } catch (err) {
        if (failure === undefined) throw err;
      }
    }
    if (!ended) {
      while ((await pull()) !== undefined) {
        // read the rest so the hash covers all of it
      }
      failure = finish();
    } else if (!opts.onEntry) {
      failure = finish();
    }
    if (failure !== undefined) {
      report({ code: failure.code, entry: exp.path, ...digestOf(exp), message: failure.message });
      return false;
    }
    return true;
  }
}

function digestOf(e: ExpectedEntry): { digest?: string } {
  return e.sha256 === undefined ? {} : { digest: `sha256:${e.sha256}` };
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
