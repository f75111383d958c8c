/**
 * Random-ish access to a blob's bytes given only a stream factory: reads forward,
 * keeps the last chunk so it can be sent again, and re-opens the stream (skipping to
 * the offset) when an upload must go back further. Holds at most one chunk plus one
 * stream buffer in memory.
 */
import type { Readable } from 'node:stream';
import { BaleError } from '../errors.js';

export class ChunkSource {
  private stream: Readable | undefined;
  private iter: AsyncIterator<unknown> | undefined;
  /** Absolute offset of the first byte of `pending`. */
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** How many times the source was opened (tests, diagnostics). */
  opens = 0;

  constructor(
    private readonly open: () => Readable,
    private readonly size: number,
    private readonly what: string,
  ) {}

  /** Bytes [offset, min(offset+max, size)). */
  async read(offset: number, max: number): Promise<Buffer> {
    if (offset > this.size || offset < 0) {
      throw new BaleError(
        'E_HTTP',
        `${this.what}: the registry asked to continue at byte ${offset} of ${this.size}`,
        {
          hint: 'The registry lost track of the upload; push again.',
        },
      );
    }
    const want = Math.min(max, this.size - offset);
    if (this.iter === undefined || offset < this.pos) this.reopen();
    // drop what lies before offset
    while (this.pos + this.pendingBytes <= offset && this.pos + this.pendingBytes < this.size) {
      this.pos += this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      await this.pull();
    }
    if (offset > this.pos) {
      // Drop whole buffers before offset, then cut the first one (no copy).
      let skip = offset - this.pos;
      while (skip > 0) {
        const head = this.pending[0] as Buffer;
        if (head.length <= skip) {
          this.pending.shift();
          skip -= head.length;
        } else {
          this.pending[0] = head.subarray(skip);
          skip = 0;
        }
      }
      this.pendingBytes -= offset - this.pos;
      this.pos = offset;
    }
    while (this.pendingBytes < want) await this.pull();
    const first = this.pending[0] as Buffer;
    if (first.length >= want) return first.subarray(0, want);
    // One copy into a chunk of its own (the buffers behind it are released as the upload moves on).
    const out = Buffer.allocUnsafe(want);
    let at = 0;
    for (const b of this.pending) {
      if (at >= want) break;
      at += b.copy(out, at, 0, Math.min(b.length, want - at));
    }
    return out;
  }

  private reopen(): void {
    this.close();
    this.stream = this.open();
    this.iter = this.stream[Symbol.asyncIterator]();
    this.opens++;
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async pull(): Promise<void> {
    const r = await (this.iter as AsyncIterator<unknown>).next();
    if (r.done === true) {
      const have = this.pos + this.pendingBytes;
      throw new BaleError(
        'E_SIZE_MISMATCH',
        `${this.what}: the local source ended after ${have} of ${this.size} bytes`,
        {
          hint: 'The file being pushed is shorter than its descriptor says; the bundle may be damaged.',
          details: { expectedSize: this.size, actualSize: have },
        },
      );
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iter = undefined;
  }
}
