import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { readReleasePayload, parseRelease } from '../../src/release/release-payload.js';
import { tarBuffer, tarStream } from '../../fixtures/tar.js';
import { chunked, gzip, imageStream, json, payloadTar, releaseMetadata, zstd } from './payload-builders.js';

async function rejection(p: Promise<unknown>): Promise<BaleError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BaleError);
  return err as BaleError;
}

function zeros(n: number, counter = { bytes: 0 }): Readable {
  return Readable.from(
    (function* () {
      for (let left = n; left > 0; left -= 65536) {
        const chunk = Buffer.alloc(Math.min(65536, left));
        counter.bytes += chunk.length;
        yield chunk;
      }
    })(),
  );
}

describe('readReleasePayload', () => {
  const expected = { imageReferences: json(imageStream()), releaseMetadata: json(releaseMetadata()) };

  it('reads both files from a plain tar', async () => {
    const files = await readReleasePayload(Readable.from([await payloadTar()]));
    expect(files.imageReferences.equals(expected.imageReferences)).toBe(true);
    expect(files.releaseMetadata.equals(expected.releaseMetadata)).toBe(true);
    const info = parseRelease(files.imageReferences, files.releaseMetadata, { architecture: 'x86_64' });
    expect(info.components.map((c) => c.name)).toEqual(['cluster-version-operator', 'etcd']);
  });

  it.each([
    ['gzip', gzip],
    ['zstd', zstd],
    ['plain', (b: Buffer) => b],
  ])('reads a %s layer fed one byte at a time', async (_kind, pack) => {
    const layer = pack(await payloadTar());
    const files = await readReleasePayload(chunked(layer, 1));
    expect(files.imageReferences.equals(expected.imageReferences)).toBe(true);
    expect(files.releaseMetadata.equals(expected.releaseMetadata)).toBe(true);
  });

  it.each([
    ['gzip', gzip],
    ['zstd', zstd],
  ])('reads a %s layer in odd-sized chunks', async (_kind, pack) => {
    const files = await readReleasePayload(chunked(pack(await payloadTar()), 777));
    expect(files.releaseMetadata.equals(expected.releaseMetadata)).toBe(true);
  });

  it('accepts ./ prefixed entry names', async () => {
    const files = await readReleasePayload(Readable.from([gzip(await payloadTar({ prefix: './' }))]));
    expect(files.imageReferences.equals(expected.imageReferences)).toBe(true);
  });

  it('keeps the last of two entries with the same name, as unpacking would', async () => {
    const tar = await tarBuffer([
      { name: 'release-manifests/image-references', data: 'old' },
      { name: 'release-manifests/release-metadata', data: 'meta' },
      { name: 'release-manifests/image-references', data: 'new' },
    ]);
    const files = await readReleasePayload(Readable.from([tar]));
    expect(files.imageReferences.toString()).toBe('new');
  });

  it('names image-references when it is missing', async () => {
    const err = await rejection(
      readReleasePayload(Readable.from([gzip(await payloadTar({ omit: 'image-references' }))])),
    );
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toContain('release-manifests/image-references');
    expect(err.message).not.toContain('release-metadata');
    expect(err.hint).toBeTruthy();
  });

  it('names release-metadata when it is missing', async () => {
    const err = await rejection(
      readReleasePayload(Readable.from([await payloadTar({ omit: 'release-metadata' })])),
    );
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toContain('release-manifests/release-metadata');
    expect(err.message).not.toContain('image-references');
  });

  it('names both files when the layer has neither', async () => {
    const tar = await tarBuffer([{ name: 'etc/hostname', data: 'x' }]);
    const err = await rejection(readReleasePayload(Readable.from([tar])));
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toContain('image-references');
    expect(err.message).toContain('release-metadata');
    expect(err.details['missing']).toHaveLength(2);
  });

  it('does not take a directory of the payload name for the file', async () => {
    const tar = await tarBuffer([
      { name: 'release-manifests/image-references/', type: 'directory' },
      { name: 'release-manifests/release-metadata', data: '{}' },
    ]);
    const err = await rejection(readReleasePayload(Readable.from([tar])));
    expect(err.message).toContain('image-references');
  });

  it('rejects a payload file over 16 MiB without reading it all', async () => {
    const size = 16 * 1024 * 1024 + 1;
    const produced = { bytes: 0 };
    const layer = tarStream([
      { name: 'release-manifests/image-references', stream: () => zeros(size, produced), size },
    ]);
    const err = await rejection(readReleasePayload(layer));
    expect(produced.bytes).toBeLessThan(size);
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toContain('release-manifests/image-references');
    expect(err.message).toContain(String(16 * 1024 * 1024));
  });

  it('rejects an oversize file given a smaller cap, in a gzip layer', async () => {
    const err = await rejection(
      readReleasePayload(Readable.from([gzip(await payloadTar())]), { maxFileBytes: 100 }),
    );
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toMatch(/image-references is larger than 100 bytes/);
  });

  it('drains large other entries without counting them against the cap', async () => {
    const size = 20 * 1024 * 1024;
    const entries = [
      { name: 'usr/bin/big', stream: () => zeros(size), size },
      { name: 'release-manifests/image-references', data: 'a' },
      { name: 'release-manifests/release-metadata', data: 'b' },
    ];
    const files = await readReleasePayload(tarStream(entries));
    expect(files.imageReferences.toString()).toBe('a');
  });

  it('rejects a layer that is not a tar', async () => {
    const err = await rejection(readReleasePayload(Readable.from([Buffer.alloc(4096, 0x41)])));
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toMatch(/not a readable tar/);
  });

  it('rejects a corrupt gzip layer', async () => {
    const layer = gzip(await payloadTar());
    layer.fill(0x55, 20, 200);
    const err = await rejection(readReleasePayload(Readable.from([layer])));
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toMatch(/gzip/);
  });

  it('rejects a truncated gzip layer even though the files came first', async () => {
    const tar = await tarBuffer([
      { name: 'release-manifests/image-references', data: 'a' },
      { name: 'release-manifests/release-metadata', data: 'b' },
      { name: 'big', data: Buffer.alloc(200_000, 1) },
    ]);
    const layer = gzip(tar);
    const err = await rejection(readReleasePayload(Readable.from([layer.subarray(0, layer.length - 100)])));
    expect(err.code).toBe('E_RELEASE_INVALID');
  });

  it('rejects an empty layer', async () => {
    const err = await rejection(readReleasePayload(Readable.from([])));
    expect(err.code).toBe('E_RELEASE_INVALID');
  });

  it('passes a plain I/O error of the source through unchanged', async () => {
    const tar = gzip(await payloadTar());
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const layer = new Readable({ read() {} });
    layer.push(tar.subarray(0, 500));
    setTimeout(() => layer.destroy(cause), 10);
    const err = await readReleasePayload(layer).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(cause);
  });

  it("passes the source's own error through unchanged", async () => {
    const tar = await payloadTar();
    const cause = new BaleError('E_DIGEST_MISMATCH', 'layer sha256:x: content differs');
    const layer = Readable.from(
      (async function* () {
        yield tar.subarray(0, 1000);
        throw cause;
      })(),
    );
    const err = await rejection(readReleasePayload(layer));
    expect(err).toBe(cause);
  });
});

describe('readReleasePayload fed one byte at a time', () => {
  /** The error code and message a read ends with, or the two files' lengths. */
  async function outcome(
    layer: Buffer,
    chunk: number,
    opts: { maxFileBytes?: number } = {},
  ): Promise<unknown> {
    return readReleasePayload(chunked(layer, chunk), opts).then(
      (f) => ({ imageReferences: f.imageReferences.length, releaseMetadata: f.releaseMetadata.length }),
      (e: unknown) => {
        expect(e).toBeInstanceOf(BaleError);
        const err = e as BaleError;
        return { code: err.code, message: err.message, details: err.details };
      },
    );
  }

  const truncatedGzip = async (): Promise<Buffer> => {
    const layer = gzip(
      await tarBuffer([
        { name: 'release-manifests/image-references', data: 'a' },
        { name: 'release-manifests/release-metadata', data: 'b' },
        { name: 'big', data: Buffer.alloc(200_000, 1) },
      ]),
    );
    return layer.subarray(0, layer.length - 100);
  };
  const cases: [string, () => Promise<Buffer>, { maxFileBytes?: number }?][] = [
    ['image-references missing (gzip)', async () => gzip(await payloadTar({ omit: 'image-references' }))],
    ['release-metadata missing (zstd)', async () => zstd(await payloadTar({ omit: 'release-metadata' }))],
    ['neither file', async () => tarBuffer([{ name: 'etc/hostname', data: 'x' }])],
    [
      'a directory at the payload name',
      async () =>
        tarBuffer([
          { name: 'release-manifests/image-references/', type: 'directory' },
          { name: 'release-manifests/release-metadata', data: '{}' },
        ]),
    ],
    ['a file over the cap (gzip)', async () => gzip(await payloadTar()), { maxFileBytes: 100 }],
    ['a file over the cap (zstd)', async () => zstd(await payloadTar()), { maxFileBytes: 100 }],
    ['not a tar', async () => Buffer.alloc(4096, 0x41)],
    [
      'a corrupt gzip layer',
      async () => {
        const layer = gzip(await payloadTar());
        layer.fill(0x55, 20, 200);
        return layer;
      },
    ],
    ['a truncated gzip layer, the files first', truncatedGzip],
    [
      'a truncated zstd layer',
      async () => {
        const layer = zstd(await payloadTar());
        return layer.subarray(0, layer.length - 50);
      },
    ],
    ['fewer bytes than a magic number', async () => Buffer.from([0x28, 0xb5])],
  ];
  for (const [name, make, opts] of cases) {
    it(`${name}: the same E_RELEASE_INVALID as fed whole`, async () => {
      const layer = await make();
      const whole = await outcome(layer, layer.length || 1, opts);
      expect(whole).toMatchObject({ code: 'E_RELEASE_INVALID' });
      expect(await outcome(layer, 1, opts)).toEqual(whole);
    }, 120_000);
  }

  it('the last of two same-named entries wins fed byte by byte too', async () => {
    const tar = await tarBuffer([
      { name: 'release-manifests/image-references', data: 'old' },
      { name: 'release-manifests/release-metadata', data: 'meta' },
      { name: 'release-manifests/image-references', data: 'newer' },
    ]);
    expect(await outcome(tar, 1)).toEqual({ imageReferences: 5, releaseMetadata: 4 });
  });
});
