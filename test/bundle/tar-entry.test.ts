/**
 * The volume writer encodes tar headers itself (to know where each entry ends): the
 * bytes must equal what tar-stream's packer writes for the same entries, so that every
 * tar reader (GNU tar, tar-stream, bale's own reader) reads volumes as before.
 */
import { buffer } from 'node:stream/consumers';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { PlannedEntry } from '../../src/bundle/plan.js';
import { TAR_END, tarHeaderBytes, tarPadding } from '../../src/bundle/tar-entry.js';

const long = `v2/openshift/release/blobs/${'d'.repeat(40)}/${'e'.repeat(90)}/sha256:${'a'.repeat(64)}`;
const entries: { entry: PlannedEntry; data: Buffer }[] = [
  {
    entry: { path: 'v2/openshift/release/blobs/sha256:' + 'a'.repeat(64), type: 'file', size: 5 },
    data: Buffer.from('hello'),
  },
  { entry: { path: 'config/empty', type: 'file', size: 0 }, data: Buffer.alloc(0) },
  { entry: { path: 'x/' + 'b'.repeat(120), type: 'file', size: 513 }, data: Buffer.alloc(513, 7) },
  { entry: { path: 'päth/ünicode', type: 'file', size: 3 }, data: Buffer.from('abc') },
  { entry: { path: long, type: 'file', size: 1024 }, data: Buffer.alloc(1024, 1) },
  {
    entry: {
      path: 'v2/r/manifests/sha256:' + 'c'.repeat(64),
      type: 'hardlink',
      size: 0,
      linkTarget: 'x/' + 'b'.repeat(120),
    },
    data: Buffer.alloc(0),
  },
  {
    entry: {
      path: 'v2/r/manifests/latest',
      type: 'symlink',
      size: 0,
      linkTarget: 'sha256:' + 'c'.repeat(64),
    },
    data: Buffer.alloc(0),
  },
  {
    entry: { path: 'v2/r/manifests/long', type: 'symlink', size: 0, linkTarget: 'l'.repeat(101) },
    data: Buffer.alloc(0),
  },
];

function tarStreamBytes(): Promise<Buffer> {
  const pack = tar.pack();
  const done = buffer(pack);
  for (const { entry, data } of entries) {
    const common = { name: entry.path, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };
    if (entry.type === 'symlink')
      pack.entry({ ...common, type: 'symlink', mode: 0o777, size: 0, linkname: entry.linkTarget ?? '' });
    else if (entry.type === 'hardlink')
      pack.entry({ ...common, type: 'link', mode: 0o644, size: 0, linkname: entry.linkTarget ?? '' });
    else pack.entry({ ...common, type: 'file', mode: 0o644, size: entry.size }, data);
  }
  pack.finalize();
  return done;
}

describe('tarHeaderBytes', () => {
  it('encodes files, long and non-ASCII names (pax), hard links and symlinks as tar-stream does', async () => {
    const ours = Buffer.concat([
      ...entries.flatMap(({ entry, data }) => [tarHeaderBytes(entry), data, tarPadding(data.length)]),
      TAR_END,
    ]);
    const theirs = await tarStreamBytes();
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('writes a size of 8 GiB and more in base-256', () => {
    const h = tarHeaderBytes({ path: 'big', type: 'file', size: 8 * 1024 ** 3 });
    expect(h[124]).toBe(0x80);
    expect(h.readUIntBE(130, 6)).toBe(8 * 1024 ** 3);
  });
});
