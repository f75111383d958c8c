/**
 * BlobFeed against the real registry: blobs read in the writer's order come out whole
 * and byte-exact at any concurrency and with a window far smaller than the blobs; parts
 * of a blob come out in order, and a part after bytes written by an earlier run is read
 * from the blob's start so that its digest is still checked; a blob the registry cannot
 * serve as described fails the read, never silently.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.js';
import { sha256Hex } from '../../../src/digest.js';
import { isBaleError } from '../../../src/errors.js';
import { BlobFeed, type FeedRequest } from '../../../src/workflows/pack/blob-feed.js';
import { noise } from '../../../fixtures/hostile/valid-bundle.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';

let reg: TestRegistry;
let client: RegistryClient;
const repo = () => ({ registry: reg.host, repository: 'feed/test' });
const blobs = [noise(21, 700_000), noise(22, 3000), noise(23, 1_500_000), noise(24, 10)];
const requests = (): FeedRequest[] =>
  blobs.map((b) => ({ digest: `sha256:${sha256Hex(b)}`, size: b.length, src: repo() }));

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  client = new RegistryClient({});
  for (const b of blobs) {
    await client.pushBlob(repo(), { digest: `sha256:${sha256Hex(b)}`, size: b.length }, () =>
      Readable.from([b]),
    );
  }
}, 60_000);
afterAll(async () => {
  await client?.close();
  await reg?.stop();
});

describe('BlobFeed', () => {
  for (const [concurrency, windowBytes] of [
    [1, 64 * 1024],
    [8, 64 * 1024],
    [8, 64 << 20],
  ] as const) {
    it(`streams every blob whole in order (concurrency ${concurrency}, window ${windowBytes})`, async () => {
      const feed = new BlobFeed({ client, concurrency, windowBytes });
      feed.start(requests());
      for (const b of blobs) {
        const got = await buffer(feed.open(`sha256:${sha256Hex(b)}`, 0, b.length));
        expect(got.equals(b)).toBe(true);
      }
      expect(feed.stats.downloaded).toBe(blobs.length);
      expect(feed.stats.bytesDownloaded).toBe(blobs.reduce((n, b) => n + b.length, 0));
    });
  }

  it('gives a blob in parts; a first part at an offset skips what an earlier run wrote', async () => {
    const big = blobs[2] as Buffer;
    const feed = new BlobFeed({ client, concurrency: 2, windowBytes: 32 * 1024 });
    feed.start(requests().slice(2, 3));
    const digest = `sha256:${sha256Hex(big)}`;
    // Part 1 (bytes 0..500k) was in a finished volume: parts 2 and 3 are read now.
    const p2 = await buffer(feed.open(digest, 500_000, 600_000));
    const p3 = await buffer(feed.open(digest, 1_100_000, big.length - 1_100_000));
    expect(p2.equals(big.subarray(500_000, 1_100_000))).toBe(true);
    expect(p3.equals(big.subarray(1_100_000))).toBe(true);
    expect(feed.stats.bytesDownloaded).toBe(big.length); // read from the start: digest checked
  });

  it('a blob the registry cannot serve as described fails the read, never silently', async () => {
    const b = blobs[0] as Buffer;
    const feed = new BlobFeed({ client, concurrency: 2, windowBytes: 64 * 1024 });
    const wrong = `sha256:${'0'.repeat(64)}`;
    // The registry serves by digest: ask for a real blob under a size it does not have.
    feed.start([{ digest: `sha256:${sha256Hex(b)}`, size: b.length + 1, src: repo() }]);
    const err = await buffer(feed.open(`sha256:${sha256Hex(b)}`, 0, b.length + 1)).catch((e: unknown) => e);
    expect(isBaleError(err), String(err)).toBe(true);
    expect((err as Error).message).toContain(sha256Hex(b));
    expect(() => feed.open(wrong, 0, 1)).toThrow(/never scheduled/);
  });
});
