import type { PlannedEntry } from './plan.js';

/**
 * The tar bytes around one volume entry, encoded here (the same ustar/pax bytes
 * tar-stream's packer writes) so that the volume writer knows where each entry ends in
 * the tar stream: pack ends a zstd frame there and journals the boundary.
 */

const BLOCK = 512;
const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', pax: 'x' } as const;

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  type: keyof typeof TYPEFLAG;
  linkname?: string;
}

function octal(value: number, digits: number): string {
  const s = value.toString(8);
  return s.length > digits ? `${'7'.repeat(digits)} ` : `${s.padStart(digits, '0')} `;
}

function writeSize(size: number, buf: Buffer): void {
  if (size.toString(8).length <= 11) {
    buf.write(octal(size, 11), 124, 'latin1');
    return;
  }
  // GNU base-256 for entries of 8 GiB and more.
  buf[124] = 0x80;
  let n = size;
  for (let i = 11; i > 0; i--) {
    buf[124 + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** A ustar header block, or undefined when the name or link needs a pax header. */
function ustar(h: HeaderFields): Buffer | undefined {
  let name = h.name;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return undefined; // not ASCII
  while (Buffer.byteLength(name) > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) return undefined;
  return encodeBlock({ ...h, name }, prefix);
}

function encodeBlock(h: HeaderFields, prefix: string): Buffer {
  const buf = Buffer.alloc(BLOCK);
  buf.write(h.name, 0);
  buf.write(octal(h.mode & 0o7777, 6), 100, 'latin1');
  buf.write(octal(0, 6), 108, 'latin1'); // uid
  buf.write(octal(0, 6), 116, 'latin1'); // gid
  writeSize(h.size, buf);
  buf.write(octal(0, 11), 136, 'latin1'); // mtime: the epoch
  buf.write(TYPEFLAG[h.type], 156, 'latin1');
  if (h.linkname) buf.write(h.linkname, 157);
  buf.write('ustar\0', 257, 'latin1');
  buf.write('00', 263, 'latin1');
  buf.write(octal(0, 6), 329, 'latin1'); // devmajor
  buf.write(octal(0, 6), 337, 'latin1'); // devminor
  if (prefix) buf.write(prefix, 345);
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[i] as number;
  for (let i = 156; i < BLOCK; i++) sum += buf[i] as number;
  buf.write(octal(sum, 6), 148, 'latin1');
  return buf;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${body}`;
}

/** Zero bytes that pad `size` bytes of content to a whole tar block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** The header bytes (one block, or pax header + records + header) that precede an entry's content. */
export function tarHeaderBytes(entry: PlannedEntry): Buffer {
  const h: HeaderFields =
    entry.type === 'symlink'
      ? { name: entry.path, mode: 0o777, size: 0, type: 'symlink', linkname: entry.linkTarget ?? '' }
      : entry.type === 'hardlink'
        ? { name: entry.path, mode: 0o644, size: 0, type: 'hardlink', linkname: entry.linkTarget ?? '' }
        : { name: entry.path, mode: 0o644, size: entry.size, type: 'file' };
  const plain = ustar(h);
  if (plain) return plain;
  let records = paxRecord('path', h.name);
  if (h.linkname) records += paxRecord('linkpath', h.linkname);
  const pax = Buffer.from(records);
  const linkname = h.linkname ? 'PaxHeader' : undefined;
  return Buffer.concat([
    encodeBlock({ name: 'PaxHeader', mode: h.mode, size: pax.length, type: 'pax', linkname }, ''),
    pax,
    tarPadding(pax.length),
    encodeBlock({ name: 'PaxHeader', mode: h.mode, size: h.size, type: h.type, linkname }, ''),
  ]);
}
