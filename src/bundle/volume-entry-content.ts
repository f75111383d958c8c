import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type tar from 'tar-stream';
import { BaleError } from '../errors.js';
import type { Problem } from './problem.js';
import { digestOf } from './volume-entry-check.js';
import type { ExpectedEntry } from './volume-reader.js';

/** One entry of the tar parser: its header and its body as a stream. */
export type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

/** What checking one file's content needs from the volume read around it. */
export interface EntryContentContext {
  volume: string;
  /** Hash the content and compare it with the index (false: sizes only). */
  checkDigests: boolean;
  /** The caller's handler, given the checked stream; absent when nobody consumes content. */
  handle?: (entry: ExpectedEntry, content: Readable) => Promise<void>;
  report: (problem: Omit<Problem, 'volume'>) => void;
}

/**
 * Reads one file entry's body, counting and hashing each chunk as it passes (no copy),
 * and hands it to the handler as a stream that errors instead of ending when the bytes
 * are not what the index says. What the handler leaves unread is read and checked here.
 * Returns whether the content matched; a mismatch is reported, not thrown.
 */
export async function checkEntryContent(
  stream: TarEntry,
  exp: ExpectedEntry,
  ctx: EntryContentContext,
): Promise<boolean> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const hash = ctx.checkDigests ? createHash('sha256') : undefined;
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
  const finish = (): BaleError | undefined => contentFailure(ctx.volume, exp, bytes, hash?.digest('hex'));
  if (ctx.handle) {
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
      await ctx.handle(exp, Readable.from(verified(), { objectMode: false }));
    } catch (err) {
      if (failure === undefined) throw err;
    }
  }
  if (!ended) {
    while ((await pull()) !== undefined) {
      // read the rest so the hash covers all of it
    }
    failure = finish();
  } else if (!ctx.handle) {
    failure = finish();
  }
  if (failure !== undefined) {
    ctx.report({ code: failure.code, entry: exp.path, ...digestOf(exp), message: failure.message });
    return false;
  }
  return true;
}

/** The size or digest mismatch of a file whose whole content was read, if any. */
function contentFailure(
  volume: string,
  exp: ExpectedEntry,
  bytes: number,
  actual: string | undefined,
): BaleError | undefined {
  if (bytes !== exp.size) {
    return new BaleError(
      'E_SIZE_MISMATCH',
      `${volume}: entry ${exp.path} is ${bytes} bytes, bundle.json says ${exp.size}`,
    );
  }
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
}
