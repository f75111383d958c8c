/**
 * A blob's bytes for a chunked upload, given only a stream factory: each PATCH body is
 * a stream of the source's own buffers (cut where a chunk ends, never copied), so a
 * chunk of any size costs no memory of its own. The source is read forward once; when
 * an upload must go back (a lost chunk, a registry that forgot some bytes), the source
 * is opened again and read up to the offset.
 */
import { Readable } from 'node:stream';
import { BaleError } from '../errors.js';

export class ChunkSource {
  private stream: Readable | undefined;
  private iter: AsyncIterator<unknown> | undefined;
  /** Absolute offset of the next byte `head` (then the stream) gives. */
  private pos = 0;
  /** What is left of the last buffer read (a chunk ended inside it). */
  private head: Buffer | undefined;
  /** How many times the source was opened (tests, diagnostics). */
  opens = 0;

  constructor(
    private readonly open: () => Readable,
    private readonly size: number,
    private readonly what: string,
  ) {}

  /**
   * Bytes [offset, offset+length) as a stream of the source's buffers. Read it to its
   * end or not at all before asking for the next range; a range behind the bytes
   * already read re-opens the source.
   */
  body(offset: number, length: number): Readable {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new BaleError(
        'E_HTTP',
        `${this.what}: the registry asked to continue at byte ${offset} of ${this.size}`,
        { hint: 'The registry lost track of the upload; push again.' },
      );
    }
    return Readable.from(this.range(offset, length), { objectMode: true, highWaterMark: 2 });
  }

  private async *range(offset: number, length: number): AsyncGenerator<Buffer> {
    await this.seek(offset);
    let left = length;
    while (left > 0) {
      const b = await this.next();
      if (b.length > left) {
        this.head = b.subarray(left);
        this.pos += left;
        yield b.subarray(0, left);
        return;
      }
      this.pos += b.length;
      left -= b.length;
      yield b;
    }
  }

  /** Moves to `offset`: forward by reading, backward by opening the source again. */
  private async seek(offset: number): Promise<void> {
    if (this.iter === undefined || offset < this.pos) this.reopen();
    while (this.pos < offset) {
      const b = await this.next();
      const skip = Math.min(b.length, offset - this.pos);
      if (skip < b.length) this.head = b.subarray(skip);
      this.pos += skip;
    }
  }

  /** The next buffer: what is left of the last one, else the next from the stream. */
  private async next(): Promise<Buffer> {
    if (this.head !== undefined) {
      const h = this.head;
      this.head = undefined;
      return h;
    }
    const r = await (this.iter as AsyncIterator<unknown>).next();
    if (r.done === true) {
      throw new BaleError(
        'E_SIZE_MISMATCH',
        `${this.what}: the local source ended after ${this.pos} of ${this.size} bytes`,
        {
          hint: 'The file being pushed is shorter than its descriptor says; the bundle may be damaged.',
          details: { expectedSize: this.size, actualSize: this.pos },
        },
      );
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    return b.length === 0 ? this.next() : b;
  }

  private reopen(): void {
    this.close();
    this.stream = this.open();
    this.iter = this.stream[Symbol.asyncIterator]();
    this.opens++;
    this.pos = 0;
    this.head = undefined;
  }

  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iter = undefined;
    this.head = undefined;
  }
}
