import type { ExpectedEntry } from '../volume-reader.js';

/**
 * Receives the bytes of entries while verify reads them (unpack's single pass: blobs
 * go to the registry as the volumes are verified). Verify awaits every call, so a slow
 * consumer slows the read instead of piling bytes up in memory.
 */
export interface EntryTap {
  /**
   * Called for each file entry (a whole entry or a part of a split one) before its
   * bytes are read; returns the consumer for it, or undefined to leave it alone.
   * Throwing stops the verify (the error is rethrown by verifyBundle).
   */
  entry(volume: string, entry: ExpectedEntry): Promise<TapSink | undefined> | TapSink | undefined;
}

export interface TapSink {
  /** The next bytes of the entry, in order. */
  write(chunk: Buffer): Promise<void> | void;
  /** Every byte was written and matched the index (size and sha256). */
  end(): Promise<void> | void;
  /** The entry did not check (or its volume could not be read on): discard what it sent. */
  fail(reason: Error): void;
}
