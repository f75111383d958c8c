/** The one way bale turns a failed file operation into a typed error naming the path. */
import { BaleError, messageOf } from './errors.js';

/** An I/O failure as a BaleError naming the path; ENOSPC gets its own code and hint. */
export function ioError(err: NodeJS.ErrnoException, path: string): BaleError {
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
    return new BaleError('E_NO_SPACE', `no space left on the device while writing ${path}`, {
      hint: 'Free some space (or choose another target) and run the same command again: it resumes.',
      cause: err,
      details: { path },
    });
  }
  return new BaleError('E_IO', `cannot write ${path}: ${messageOf(err)}`, {
    hint: 'Check the path, its permissions and the device; then run the same command again.',
    cause: err,
    details: { path, errno: err.code },
  });
}

/** A write failure as an I/O error naming the file (disk full stays disk full). */
export function asIoError(err: unknown, path: string): unknown {
  if (err instanceof BaleError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    if (err.code === 'E_IO' && (cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT'))
      return ioError(cause, path);
    return err;
  }
  if (err && typeof err === 'object' && 'code' in err) return ioError(err as NodeJS.ErrnoException, path);
  return err;
}
