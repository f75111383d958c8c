import type tar from 'tar-stream';
import { messageOf } from '../errors.js';
import type { StrictTarScanner } from './tar-strict.js';

/** The running copy of a volume's decompressed bytes into the tar parser. */
export interface VolumeFeed {
  /** Settles (never rejects) when the input is used up or the feed stopped. */
  done: Promise<void>;
  /** Why the feed stopped early (a decompression or strict-tar error), if it did. */
  error(): unknown;
}

/**
 * Feeds each decompressed chunk to the strict tar scanner and the tar parser, waiting
 * only when the parser asks for it (backpressure). A failure of the input or the scanner
 * destroys the parser, so the entry loop reading it ends; `error()` then says why.
 */
export function feedVolume(
  input: AsyncIterable<Buffer>,
  strict: StrictTarScanner,
  extract: tar.Extract,
): VolumeFeed {
  let feedError: unknown;
  const done = (async () => {
    try {
      for await (const chunk of input) {
        strict.push(chunk);
        if (!extract.write(chunk)) await drained(extract);
      }
      extract.end(undefined);
    } catch (err) {
      if (!extract.destroyed) {
        feedError = err;
        extract.destroy(err instanceof Error ? err : new Error(messageOf(err)));
      }
    }
  })();
  return { done, error: () => feedError };
}

function drained(extract: tar.Extract): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (extract.destroyed) return reject(new Error('extract closed')); // its 'close' is gone
    const onClose = (): void => reject(new Error('extract closed'));
    extract.once('drain', () => {
      extract.off('close', onClose);
      resolve();
    });
    extract.once('close', onClose);
  });
}
