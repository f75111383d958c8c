import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BaleError, messageOf } from '../errors.js';

/**
 * A lock file that keeps two bale processes from writing one directory at once.
 *
 * Taking it: write `{pid, hostname, nonce}` to a private temp file, then `link()` it
 * to `.bale.lock`. link() fails with EEXIST if the lock exists, so exactly one process
 * wins. A lock whose holder is on this host and no longer alive (`isAlive(pid)` false)
 * is stale: it is renamed aside (atomic: of two processes doing this, only one can
 * rename that file) and, if what was moved aside is indeed the stale lock just read,
 * the link is tried again. A lock from another host is never taken over (its pid
 * means nothing here): the user removes it. Releasing removes the lock only if it
 * still holds our nonce.
 */
export const LOCK_FILE = '.bale.lock';

export interface LockOptions {
  pid: number;
  hostname: string;
  /** Whether a process with this pid runs on this host (the CLI uses `process.kill(pid, 0)`). */
  isAlive: (pid: number) => boolean;
}

export interface LockHolder {
  pid: number;
  hostname: string;
  nonce: string;
}

export interface Lock {
  /** The lock file. */
  path: string;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

export async function acquireLock(dir: string, opts: LockOptions): Promise<Lock> {
  const lockPath = join(dir, LOCK_FILE);
  const nonce = randomBytes(12).toString('hex');
  const tmp = join(dir, `${LOCK_FILE}.${nonce}`);
  const mine: LockHolder = { pid: opts.pid, hostname: opts.hostname, nonce };
  const body = `${JSON.stringify(mine)}\n`;
  try {
    const fh = await open(tmp, NEW_FILE, 0o644);
    await fh.writeFile(body).finally(() => fh.close());
  } catch (err) {
    throw new BaleError('E_IO', `cannot create a lock file in ${dir}: ${messageOf(err)}`, {
      cause: err,
      hint: 'Check that the directory exists and is writable.',
    });
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, lockPath);
        return {
          path: lockPath,
          release: async () => {
            const holder = await readHolder(lockPath);
            if (holder?.nonce === nonce) await unlink(lockPath).catch(() => undefined);
          },
        };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') {
          throw new BaleError('E_IO', `cannot create ${lockPath}: ${messageOf(err)}`, { cause: err });
        }
      }
      await assertPlainFile(lockPath);
      const holder = await readHolder(lockPath);
      if (holder === undefined) continue; // released meanwhile, or unreadable: try again
      if (holder.hostname !== opts.hostname || opts.isAlive(holder.pid)) {
        throw lockedError(lockPath, holder, holder.hostname !== opts.hostname);
      }
      // Stale: move it aside, then check that what moved is the lock we judged stale.
      const aside = join(dir, `${LOCK_FILE}.stale.${nonce}`);
      try {
        await rename(lockPath, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = await readHolder(aside);
      if (moved?.nonce !== holder.nonce) {
        // We moved a fresh lock taken meanwhile: put it back and give up.
        await link(aside, lockPath).catch(() => undefined);
        await unlink(aside).catch(() => undefined);
        throw lockedError(lockPath, moved ?? holder, false);
      }
      await unlink(aside).catch(() => undefined);
    }
    const holder = await readHolder(lockPath);
    throw lockedError(lockPath, holder ?? { pid: 0, hostname: '?', nonce: '' }, false);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Exclusive creation that never follows a link planted at the name. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The lock file someone else left must be a plain file: a symlink (to a victim file, a
 * FIFO, a device) is refused rather than read, followed or taken over.
 */
async function assertPlainFile(lockPath: string): Promise<void> {
  const st = await lstat(lockPath).catch(() => undefined);
  if (st === undefined || st.isFile()) return;
  throw new BaleError(
    'E_BUNDLE_HOSTILE',
    `${lockPath} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: bale does not follow or replace it`,
    {
      hint: `Someone else put it there. Check the directory, remove ${lockPath}, and run the same command again.`,
      details: { lock: lockPath },
    },
  );
}

/** Reads a lock file without following a link or blocking on a FIFO (O_NOFOLLOW | O_NONBLOCK). */
async function readLockText(path: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > 4096) throw new Error('not a small regular file');
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const v = JSON.parse(await readLockText(path)) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.nonce === 'string') {
      return { pid: v.pid, hostname: v.hostname, nonce: v.nonce };
    }
    // A lock file we cannot understand is treated as held by an unknown live process.
    return { pid: 0, hostname: '(unreadable lock file)', nonce: '' };
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    return { pid: 0, hostname: '(unreadable lock file)', nonce: '' };
  }
}

function lockedError(lockPath: string, holder: LockHolder, otherHost: boolean): BaleError {
  return new BaleError('E_LOCKED', `${lockPath} is held by process ${holder.pid} on ${holder.hostname}`, {
    hint: otherHost
      ? `Another machine (${holder.hostname}) may be using this directory; if it is not, remove ${lockPath}.`
      : `Wait for process ${holder.pid} to finish; if it is gone, remove ${lockPath}.`,
    details: { pid: holder.pid, hostname: holder.hostname, lock: lockPath },
  });
}
