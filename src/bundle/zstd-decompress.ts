import binding from 'zstd-napi/binding.js';
import { BaleError, messageOf } from '../errors.js';

const OUT_SIZE = binding.dStreamOutSize();

/**
 * zstd decompression as an async generator, for untrusted input. Unlike a Transform
 * that pushes everything one input chunk expands to (a few KiB of RLE blocks can
 * expand to gigabytes), it yields one output buffer at a time and waits for the
 * consumer, so memory stays at a few hundred KiB whatever the ratio; and it stops
 * with E_BUNDLE_HOSTILE as soon as the output passes `maxOutput`.
 *
 * Errors: E_BUNDLE_CORRUPT for invalid or truncated zstd data (including empty input),
 * E_BUNDLE_HOSTILE past `maxOutput`. The decoder's default window limit (128 MiB) bounds
 * what a hostile frame header can make it allocate.
 */
export async function* zstdDecompress(
  source: AsyncIterable<Buffer | Uint8Array>,
  opts: { maxOutput: number; what: string; volume?: string },
): AsyncGenerator<Buffer, void, undefined> {
  const dctx = new binding.DCtx();
  const details = opts.volume === undefined ? {} : { volume: opts.volume };
  let inFrame = false;
  let sawInput = false;
  let total = 0;
  const step = (dst: Uint8Array, src: Uint8Array): [number, number, number] => {
    try {
      const [r, p, c] = dctx.decompressStream(dst, src);
      return [r, p, c];
    } catch (err) {
      throw new BaleError('E_BUNDLE_CORRUPT', `${opts.what}: corrupt zstd data (${messageOf(err)})`, {
        hint: 'The file is damaged: copy it again from the source medium.',
        details,
      });
    }
  };
  for await (const input of source) {
    let src: Uint8Array = input;
    if (src.length > 0) sawInput = true;
    while (src.length > 0) {
      const dst = Buffer.allocUnsafe(OUT_SIZE);
      const [ret, produced, consumed] = step(dst, src);
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      if (produced > 0) {
        total += produced;
        if (total > opts.maxOutput) {
          // Hand over what fits under the cap first, so the reader can name the entry at fault.
          const fits = produced - (total - opts.maxOutput);
          if (fits > 0) yield dst.subarray(0, fits);
          throw new BaleError(
            'E_BUNDLE_HOSTILE',
            `${opts.what}: decompresses to more than ${opts.maxOutput} bytes, more than its index allows; stopped reading`,
            { hint: 'Do not use this bundle: its volume is not what bundle.json describes.', details },
          );
        }
        yield dst.subarray(0, produced);
      }
      // Output buffer was full: the decoder may hold more output for the same input.
      // Not when the frame just ended (ret 0: decoded and fully flushed): asked again, the
      // decoder would start the next frame and answer "need a header", as if cut short.
      if (src.length === 0 && produced === dst.length && ret !== 0) {
        for (;;) {
          const more = Buffer.allocUnsafe(OUT_SIZE);
          const [r2, p2] = step(more, new Uint8Array(0));
          inFrame = r2 !== 0;
          if (p2 === 0) break;
          total += p2;
          if (total > opts.maxOutput) {
            const fits = p2 - (total - opts.maxOutput);
            if (fits > 0) yield more.subarray(0, fits);
            throw new BaleError(
              'E_BUNDLE_HOSTILE',
              `${opts.what}: decompresses to more than ${opts.maxOutput} bytes, more than its index allows; stopped reading`,
              { hint: 'Do not use this bundle: its volume is not what bundle.json describes.', details },
            );
          }
          yield more.subarray(0, p2);
          if (p2 < more.length || r2 === 0) break;
        }
      }
    }
  }
  if (!sawInput || inFrame) {
    throw new BaleError(
      'E_BUNDLE_CORRUPT',
      sawInput ? `${opts.what}: ends in the middle of a zstd frame (truncated)` : `${opts.what}: is empty`,
      { hint: 'The file is incomplete: copy it again from the source medium.', details },
    );
  }
}
