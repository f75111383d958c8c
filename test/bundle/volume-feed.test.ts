/**
 * The feed of decompressed bytes into the strict tar scanner and the tar parser
 * (volume-feed.ts): every chunk reaches the parser, whatever the chunking; an input
 * that fails or bytes the strict scanner refuses stop the parser, and error() says why.
 */
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarBytes } from '../../fixtures/hostile/tar-surgery.js';
import { StrictTarScanner } from '../../src/bundle/tar-strict.js';
import { feedVolume } from '../../src/bundle/volume-feed.js';

const ITEMS = [
  { header: { name: 'a', type: 'file' as const, mode: 0o644 }, body: Buffer.alloc(70_000, 1) },
  { header: { name: 'b', type: 'file' as const, mode: 0o644 }, body: Buffer.from('bee') },
];

async function* chunks(data: Buffer, size: number, failAt?: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    if (failAt !== undefined && i >= failAt) throw new Error('media read error');
    yield data.subarray(i, i + size);
  }
}

/** Names and sizes of the entries the parser produced, and how the read ended. */
async function parse(
  input: AsyncIterable<Buffer>,
): Promise<{ entries: string[]; error: unknown; thrown: unknown }> {
  const extract = tar.extract();
  const feed = feedVolume(input, new StrictTarScanner('volume-001.tar.zst'), extract);
  const entries: string[] = [];
  let thrown: unknown;
  try {
    for await (const entry of extract) {
      let n = 0;
      for await (const c of entry) n += (c as Buffer).length;
      entries.push(`${entry.header.name}:${n}`);
    }
  } catch (err) {
    thrown = err;
  }
  await feed.done;
  return { entries, error: feed.error(), thrown };
}

describe('feedVolume', () => {
  it('feeds every byte to the parser, whole or in small chunks (backpressure)', async () => {
    const data = await tarBytes(ITEMS);
    for (const size of [data.length, 4096, 333]) {
      expect(await parse(chunks(data, size))).toEqual({
        entries: ['a:70000', 'b:3'],
        error: undefined,
        thrown: undefined,
      });
    }
  });

  it('stops the parser when the input fails, and says why', async () => {
    const data = await tarBytes(ITEMS);
    const r = await parse(chunks(data, 4096, 20_000));
    expect(r.error).toMatchObject({ message: 'media read error' });
    expect(r.thrown).toBeDefined();
    expect(r.entries).toEqual([]);
  });

  it('stops the parser when the strict scanner refuses the bytes', async () => {
    const data = await tarBytes(ITEMS);
    const bad = Buffer.from(data);
    bad.write('0000000', 148, 'ascii'); // a wrong header checksum in the first header
    const r = await parse(chunks(bad, 4096));
    expect(r.error).toBeDefined();
    expect(r.entries).toEqual([]);
  });
});
