/**
 * A small, strict reader for the OpenPGP packet framing of RFC 4880 §4.2 (old and new
 * packet headers, partial body lengths) and for the shape of a signed message
 * (§11.3): what bale needs to reach the literal data and the signature packet of a
 * release signature without trusting openpgp.js to keep v3 signature packets, which
 * it drops. Compressed packets (§5.6: uncompressed, ZIP, ZLIB) are opened with
 * node:zlib under a size cap. Everything malformed throws E_SIGNATURE_INVALID.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { BaleError } from '../errors.js';

export const PACKET_TAG = {
  signature: 2,
  onePassSignature: 4,
  compressed: 8,
  marker: 10,
  literal: 11,
} as const;

/** Decompressed bytes allowed per compressed packet: a signature is a few KiB. */
export const MAX_DECOMPRESSED_BYTES = 1024 * 1024;
/** Compressed packets inside compressed packets, at most. */
const MAX_NESTING = 2;
/** Tags that may use partial body lengths (RFC 4880 §4.2.2.4, RFC 9580 §4.2.1.4). */
const PARTIAL_OK = new Set([8, 9, 11, 18, 20]);

export interface Packet {
  tag: number;
  body: Buffer;
}

export interface SignedMessage {
  /** The literal data packet's content (what the signature covers). */
  data: Buffer;
  /** Literal data format octet: 'b', 't', 'u', … */
  format: string;
  /** The body of the (one) signature packet. */
  signature: Buffer;
  /** The body of the one-pass signature packet, when present. */
  onePass: Buffer | undefined;
}

function malformed(reason: string): BaleError {
  return new BaleError('E_SIGNATURE_INVALID', `malformed OpenPGP message: ${reason}`, {
    hint: 'The signature file is damaged or is not an OpenPGP signed message; fetch it again from the signature store.',
  });
}

/** Splits a packet sequence into packets; bodies with partial lengths are joined. */
export function readPackets(bytes: Uint8Array): Packet[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: Packet[] = [];
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw malformed(`truncated ${what} at offset ${pos}`);
  };
  while (pos < buf.length) {
    const start = pos;
    const first = buf[pos++] as number;
    if ((first & 0x80) === 0)
      throw malformed(`byte 0x${first.toString(16)} at offset ${start} is not a packet header`);
    if ((first & 0x40) === 0) {
      // Old format: tag in bits 5..2, length type in bits 1..0.
      const tag = (first >> 2) & 0x0f;
      const lengthType = first & 0x03;
      let length: number;
      if (lengthType === 3) {
        length = buf.length - pos; // indeterminate: to the end of the input
      } else {
        const n = 1 << lengthType;
        need(n, 'packet length');
        length = buf.readUIntBE(pos, n);
        pos += n;
      }
      need(length, `body of packet tag ${tag}`);
      packets.push({ tag, body: buf.subarray(pos, pos + length) });
      pos += length;
      continue;
    }
    // New format.
    const tag = first & 0x3f;
    const chunks: Buffer[] = [];
    for (;;) {
      need(1, 'packet length');
      const o1 = buf[pos++] as number;
      let length: number;
      let partial = false;
      if (o1 < 192) {
        length = o1;
      } else if (o1 < 224) {
        need(1, 'packet length');
        length = ((o1 - 192) << 8) + (buf[pos++] as number) + 192;
      } else if (o1 === 255) {
        need(4, 'packet length');
        length = buf.readUInt32BE(pos);
        pos += 4;
      } else {
        if (!PARTIAL_OK.has(tag)) throw malformed(`packet tag ${tag} may not use partial body lengths`);
        length = 1 << (o1 & 0x1f);
        partial = true;
      }
      need(length, `body of packet tag ${tag}`);
      chunks.push(buf.subarray(pos, pos + length));
      pos += length;
      if (!partial) break;
    }
    packets.push({ tag, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
  }
  return packets;
}

/** The packets inside a compressed data packet body (RFC 4880 §5.6). */
export function decompressPacket(body: Buffer): Buffer {
  if (body.length < 1) throw malformed('empty compressed packet');
  const algorithm = body[0] as number;
  const data = body.subarray(1);
  const options = { maxOutputLength: MAX_DECOMPRESSED_BYTES };
  try {
    switch (algorithm) {
      case 0:
        return data;
      case 1:
        return inflateRawSync(data, options);
      case 2:
        return inflateSync(data, options);
      default:
        throw malformed(`unsupported compression algorithm ${algorithm}`);
    }
  } catch (err) {
    if (err instanceof BaleError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw malformed(`compressed packet expands beyond ${MAX_DECOMPRESSED_BYTES} bytes`);
    }
    throw malformed(`compressed packet does not decompress (${(err as Error).message})`);
  }
}

function flatten(packets: Packet[], depth: number, out: Packet[]): void {
  for (const p of packets) {
    if (p.tag === PACKET_TAG.compressed) {
      if (depth >= MAX_NESTING) throw malformed('compressed packets nested too deeply');
      flatten(readPackets(decompressPacket(p.body)), depth + 1, out);
    } else if (p.tag !== PACKET_TAG.marker) {
      out.push(p);
    }
  }
}

/** Splits a literal data packet body (RFC 4880 §5.9) into its format and content. */
export function literalContent(body: Buffer): { format: string; data: Buffer } {
  if (body.length < 2) throw malformed('truncated literal data packet');
  const nameLength = body[1] as number;
  const dataStart = 2 + nameLength + 4;
  if (body.length < dataStart) throw malformed('truncated literal data packet');
  return { format: String.fromCharCode(body[0] as number), data: body.subarray(dataStart) };
}

/**
 * The parts of a binary signed message. bale accepts exactly one literal data packet
 * and exactly one signature packet, optionally preceded by one one-pass signature
 * packet, in either order allowed by RFC 4880 §11.3, possibly inside compressed
 * packets; any other packet (encrypted data, keys, a second signature) is rejected.
 */
export function readSignedMessage(bytes: Uint8Array): SignedMessage {
  if (bytes.length === 0) throw malformed('empty input');
  const packets: Packet[] = [];
  flatten(readPackets(bytes), 0, packets);
  const tags = packets.map((p) => p.tag).join(',');
  const onePassShape = `${PACKET_TAG.onePassSignature},${PACKET_TAG.literal},${PACKET_TAG.signature}`;
  const prefixShape = `${PACKET_TAG.signature},${PACKET_TAG.literal}`;
  let onePass: Buffer | undefined;
  let literal: Buffer;
  let signature: Buffer;
  if (tags === onePassShape) {
    onePass = (packets[0] as Packet).body;
    literal = (packets[1] as Packet).body;
    signature = (packets[2] as Packet).body;
  } else if (tags === prefixShape) {
    signature = (packets[0] as Packet).body;
    literal = (packets[1] as Packet).body;
  } else {
    throw malformed(
      `expected one-pass signature, literal data and one signature packet, found packet tags [${tags}]`,
    );
  }
  const { format, data } = literalContent(literal);
  return { data, format, signature, onePass };
}
