/**
 * Reading a small file at a name on hostile media: bundle.json, SHA256SUMS,
 * bundle.json.asc. Whatever sits there (a FIFO, a device, a symlink to /dev/zero, a
 * huge file), this returns or throws at once: the file is opened without following a
 * link and without blocking, must be a regular file, and is read only up to `max` bytes.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { BaleError } from '../errors.js';

export async function readSmallRegularFile(path: string, max: number, what: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new BaleError('E_BUNDLE_INVALID', `${what} is not a regular file`, { details: { file: what } });
    }
    if (st.size > max) {
      throw new BaleError(
        'E_BUNDLE_INVALID',
        `${what} is ${st.size} bytes, more than the ${max} bale reads`,
        {
          details: { file: what },
        },
      );
    }
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
