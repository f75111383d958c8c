import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileChunks } from '../../src/bundle/file-chunks.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bale-file-chunks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readFileChunks (two reused buffers)', () => {
  test.each([0, 1, 4096, 10_000, 3 * 4096 + 17])('reads %i bytes in order', async (size) => {
    const data = randomBytes(size);
    const path = join(dir, `f-${size}`);
    await writeFile(path, data);
    const got: Buffer[] = [];
    // Copy each chunk at once: it is valid only until the one after next is requested.
    for await (const c of readFileChunks(path, 4096)) got.push(Buffer.from(c));
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(got.every((c) => c.length > 0 && c.length <= 4096)).toBe(true);
  });

  test('closes the file when the consumer stops early, and rejects a missing file', async () => {
    const path = join(dir, 'early');
    await writeFile(path, randomBytes(20_000));
    for await (const c of readFileChunks(path, 4096)) {
      expect(c.length).toBe(4096);
      break;
    }
    await expect(
      (async () => {
        for await (const _ of readFileChunks(join(dir, 'missing'))) void _;
      })(),
    ).rejects.toThrow(/ENOENT/);
  });

  test('an aborted signal: nothing is opened, the read rejects with its reason', async () => {
    const ac = new AbortController();
    const reason = new Error('interrupted');
    ac.abort(reason);
    await expect(
      (async () => {
        for await (const _ of readFileChunks(join(dir, 'missing'), 4096, ac.signal)) void _;
      })(),
    ).rejects.toBe(reason); // not ENOENT: the file was never opened
  });

  test('an abort mid-file ends the read before the next chunk', async () => {
    const path = join(dir, 'abort-mid');
    await writeFile(path, randomBytes(10 * 4096));
    const ac = new AbortController();
    const reason = new Error('interrupted');
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of readFileChunks(path, 4096, ac.signal)) {
          void _;
          if (++chunks === 2) ac.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(chunks).toBe(2);
  });
});
