import { BaleError } from '../../errors.js';
import { verifyBundle } from '../../bundle/verify-bundle.js';
import type { PackContext } from './context.js';
import { STATE_DIR } from './types.js';

/** Reads every volume back and verifies the bundle (catches a failing medium). */
export async function verifyAfterWrite(ctx: PackContext): Promise<void> {
  ctx.progress.phase('verify after write');
  const report = await verifyBundle(ctx.to, {
    keyrings: ctx.keyrings,
    progress: ctx.progress,
    ignore: [STATE_DIR],
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  ctx.signal?.throwIfAborted(); // an interrupted read-back is the interrupt, not a failing medium
  if (!report.ok) {
    throw new BaleError(
      'E_VERIFY_FAILED',
      `the bundle does not read back as written: ${report.problems[0]?.message ?? ''}`,
      {
        hint: 'The medium may be failing. Run bale verify for the whole list, replace the medium and pack again.',
        details: { problems: report.problems },
      },
    );
  }
}
