/**
 * The README's standard-tools audit extracts a volume with `zstd -dc | tar -x`: what
 * GNU tar makes of it must be exactly what bale verified. tar readers differ on the
 * corners of the format (a pax global header, pax keys such as `size` or GNU.sparse.*,
 * GNU-format headers whose prefix field means something else, base-256 numbers, link
 * entries that carry data, entries after the end-of-archive marker), so bale accepts
 * only what its own writer produces: POSIX ustar headers with a valid checksum, of
 * type regular file, hard link, symlink or local pax header (keys `path` and `linkpath`
 * only), and nothing but zero bytes after the end-of-archive marker. GNU long-name and
 * long-link headers (types `L` and `K`, whose body GNU tar takes as the next entry's name
 * or link target) are refused like every other type: bale writes long names as pax `path`.
 *
 * The scanner walks the raw tar stream beside the parser, reading headers and skipping
 * data: it keeps no more than one header (or one small pax body) in memory.
 */
import { BaleError } from '../errors.js';

const BLOCK = 512;
const MAX_PAX_BYTES = 64 * 1024;
const PAX_KEYS: ReadonlySet<string> = new Set(['path', 'linkpath']);

function octal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

export class StrictTarScanner {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = BLOCK;
  private collectingPax = false;
  private skip = 0;
  private afterPax = 0;
  private lastWasPax = false;
  private ended = false;
  private offset = 0;

  constructor(private readonly volume: string) {}

  private hostile(what: string): BaleError {
    return new BaleError(
      'E_BUNDLE_HOSTILE',
      `${this.volume}: ${what} at byte ${this.offset} of the tar stream (tar readers could read it differently, so bale refuses it)`,
      { details: { volume: this.volume, offset: this.offset } },
    );
  }

  /** Checks the next piece of the decompressed tar stream; throws E_BUNDLE_HOSTILE. */
  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.ended) {
        for (; i < chunk.length; i++) {
          if (chunk[i] !== 0) throw this.hostile('data after the end-of-archive marker');
        }
        return;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        this.offset += n;
        i += n;
        continue;
      }
      const n = Math.min(this.need - this.pendingBytes, chunk.length - i);
      this.pending.push(chunk.subarray(i, i + n));
      this.pendingBytes += n;
      this.offset += n;
      i += n;
      if (this.pendingBytes < this.need) return;
      const block = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      if (this.collectingPax) {
        this.checkPax(block);
        this.collectingPax = false;
        this.need = BLOCK;
        this.skip = this.afterPax;
      } else {
        this.header(block);
      }
    }
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (this.lastWasPax) throw this.hostile('a pax header with no entry after it');
      this.ended = true;
      return;
    }
    const stored = octal(block.subarray(148, 156));
    let sum = 0;
    for (let j = 0; j < BLOCK; j++) sum += j >= 148 && j < 156 ? 0x20 : (block[j] ?? 0);
    if (stored !== sum) throw this.hostile('a tar header with a bad checksum');
    if (block.toString('latin1', 257, 265) !== 'ustar\u000000') {
      throw this.hostile('a header that is not POSIX ustar (GNU or old format)');
    }
    const type = String.fromCharCode(block[156] ?? 0);
    if ((block[124] ?? 0) & 0x80) throw this.hostile('a base-256 size field');
    const size = octal(block.subarray(124, 136));
    if (size === undefined) throw this.hostile('an unreadable size field');
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      if (this.lastWasPax) throw this.hostile('two pax headers in a row');
      if (size > MAX_PAX_BYTES) throw this.hostile(`a pax header of ${size} bytes`);
      this.lastWasPax = true;
      if (size === 0) return;
      this.collectingPax = true;
      this.need = size;
      this.afterPax = padded - size;
      return;
    }
    this.lastWasPax = false;
    if (type === '0') {
      this.skip = padded;
      return;
    }
    if (type === '1' || type === '2') {
      if (size !== 0) throw this.hostile('a link entry that carries data');
      return;
    }
    if (type === '3' || type === '4' || type === '5' || type === '6') {
      // Devices, directories, FIFOs: the volume reader refuses each, naming the entry.
      this.skip = padded;
      return;
    }
    throw this.hostile(
      `a tar entry of type ${JSON.stringify(type)} (only files, links and local pax headers)`,
    );
  }

  private checkPax(body: Buffer): void {
    let at = 0;
    while (at < body.length) {
      const space = body.indexOf(0x20, at);
      const len = space < 0 ? NaN : Number(body.toString('latin1', at, space));
      if (!Number.isSafeInteger(len) || len <= 0 || at + len > body.length || body[at + len - 1] !== 0x0a) {
        throw this.hostile('a malformed pax record');
      }
      const record = body.toString('utf8', space + 1, at + len - 1);
      const eq = record.indexOf('=');
      const key = eq < 0 ? record : record.slice(0, eq);
      if (!PAX_KEYS.has(key)) throw this.hostile(`a pax header with key ${JSON.stringify(key)}`);
      at += len;
    }
  }
}
