import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { readPackets, readSignedMessage } from '../../src/signature/packets.js';
import { parseV3Signature } from '../../src/signature/v3-signature.js';
import { CI, REDHAT, readSignature } from './realdata.js';
import { oldPacket } from './v3-forge.js';

function throwsInvalid(f: () => unknown, reason: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isBaleError(err, 'E_SIGNATURE_INVALID')).toBe(true);
  expect((err as Error).message).toMatch(reason);
}

describe('readPackets', () => {
  it('reads old-format headers with 1, 2, 4 byte and indeterminate lengths', () => {
    const body = Buffer.from('abc');
    expect(readPackets(Buffer.from([0x80 | (11 << 2), 3, ...body]))).toEqual([{ tag: 11, body }]);
    expect(readPackets(Buffer.from([0x80 | (11 << 2) | 1, 0, 3, ...body]))).toEqual([{ tag: 11, body }]);
    expect(readPackets(Buffer.from([0x80 | (11 << 2) | 2, 0, 0, 0, 3, ...body]))).toEqual([
      { tag: 11, body },
    ]);
    expect(readPackets(Buffer.from([0x80 | (11 << 2) | 3, ...body]))).toEqual([{ tag: 11, body }]);
  });

  it('reads new-format headers with one, two, five byte and partial lengths', () => {
    const long = Buffer.alloc(300, 1);
    expect(readPackets(Buffer.from([0xc0 | 11, 3, 1, 2, 3]))).toEqual([
      { tag: 11, body: Buffer.from([1, 2, 3]) },
    ]);
    const two = Buffer.from([0xc0 | 11, 192 + ((300 - 192) >> 8), (300 - 192) & 0xff, ...long]);
    expect(readPackets(two)).toEqual([{ tag: 11, body: long }]);
    expect(readPackets(Buffer.from([0xc0 | 11, 255, 0, 0, 1, 44, ...long]))).toEqual([
      { tag: 11, body: long },
    ]);
    // partial: 2 bytes, 4 bytes, then a final 1-byte length
    const partial = Buffer.from([0xc0 | 11, 0xe1, 1, 2, 0xe2, 3, 4, 5, 6, 1, 7]);
    expect(readPackets(partial)).toEqual([{ tag: 11, body: Buffer.from([1, 2, 3, 4, 5, 6, 7]) }]);
  });

  it('rejects truncation, non-headers and partial lengths on a signature packet', () => {
    throwsInvalid(() => readPackets(Buffer.from([0x41])), /not a packet header/);
    throwsInvalid(() => readPackets(Buffer.from([0xc0 | 11, 5, 1])), /truncated body/);
    throwsInvalid(() => readPackets(Buffer.from([0xc0 | 11, 192])), /truncated packet length/);
    throwsInvalid(() => readPackets(Buffer.from([0x80 | (2 << 2) | 1, 0])), /truncated packet length/);
    throwsInvalid(() => readPackets(Buffer.from([0xc0 | 2, 0xe1, 1, 2, 0])), /may not use partial/);
  });
});

describe('readSignedMessage', () => {
  it('finds the literal data and the v3 signature in the Red Hat message', () => {
    const m = readSignedMessage(readSignature(REDHAT.digest));
    expect(m.format).toBe('b');
    expect(m.data.toString()).toContain(REDHAT.digest);
    const sig = parseV3Signature(m.signature);
    expect(sig).toMatchObject({
      keyId: REDHAT.keyId,
      signatureType: 0,
      publicKeyAlgorithm: 1,
      hashAlgorithm: 8,
    });
    expect(sig.mpi.length).toBe(512);
    expect(sig.created.getUTCFullYear()).toBeGreaterThanOrEqual(2018);
  });

  it('joins the partial-length literal data of the openshift-ci message', () => {
    const m = readSignedMessage(readSignature(CI.digest));
    expect(JSON.parse(m.data.toString()).critical.image['docker-manifest-digest']).toBe(CI.digest);
    expect(m.signature[0]).toBe(4);
  });

  it('opens ZLIB compressed packets and accepts signature-first messages', () => {
    const lit = oldPacket(11, Buffer.from([0x62, 0, 0, 0, 0, 0, 0x41]));
    const sig = oldPacket(2, Buffer.from([4, 0]));
    const m = readSignedMessage(
      Buffer.concat([sig, oldPacket(8, Buffer.concat([Buffer.from([2]), deflateSync(lit)]))]),
    );
    expect(m.data.toString()).toBe('A');
    expect(m.onePass).toBeUndefined();
  });

  it('rejects unknown compression, deep nesting, extra packets and bad literal packets', () => {
    throwsInvalid(() => readSignedMessage(oldPacket(8, Buffer.from([3, 1, 2]))), /compression algorithm 3/);
    let nested = oldPacket(11, Buffer.from([0x62, 0, 0, 0, 0, 0]));
    for (let i = 0; i < 3; i++) nested = oldPacket(8, Buffer.concat([Buffer.from([0]), nested]));
    throwsInvalid(() => readSignedMessage(nested), /nested too deeply/);
    const lit = oldPacket(11, Buffer.from([0x62, 0, 0, 0, 0, 0]));
    const sig = oldPacket(2, Buffer.from([4]));
    throwsInvalid(() => readSignedMessage(Buffer.concat([lit, sig])), /packet tags \[11,2\]/);
    throwsInvalid(() => readSignedMessage(Buffer.concat([sig, lit, lit])), /packet tags \[2,11,11\]/);
    throwsInvalid(
      () => readSignedMessage(Buffer.concat([sig, oldPacket(11, Buffer.from([0x62, 9]))])),
      /truncated literal/,
    );
    throwsInvalid(
      () => readSignedMessage(Buffer.concat([oldPacket(1, Buffer.alloc(10)), sig, lit])),
      /packet tags \[1,2,11\]/,
    );
  });
});
