import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream } from '../../digest.js';
import { BaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import { makeSafeDir } from '../../safe-write.js';

/** Exclusive creation that never follows a link at the name (O_EXCL | O_NOFOLLOW). */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** An unpredictable temporary name next to `abs`, so nobody can plant a link there in advance. */
function tempName(abs: string): string {
  return `${abs}.tmp-${randomBytes(12).toString('hex')}`;
}

/**
 * Writes files, hard links and symlinks under one root directory, never outside it:
 * paths are relative and checked, and no existing component of a path may be a
 * symlink (so a link planted in the target directory cannot redirect a write).
 * Files are written to a temporary name and renamed once size and digest check.
 */
export class ConfinedDirWriter {
  readonly root: string;
  private readonly madeDirs = new Set<string>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path for a relative, '/'-separated path, refusing anything that leaves the root. */
  resolvePath(relPath: string): string {
    if (
      relPath.length === 0 ||
      isAbsolute(relPath) ||
      relPath.includes('\\') ||
      relPath.includes('\0') ||
      relPath.split('/').some((p) => p === '' || p === '.' || p === '..')
    ) {
      throw new BaleError(
        'E_BUNDLE_HOSTILE',
        `refusing to write ${JSON.stringify(relPath)}: not a plain relative path`,
      );
    }
    const abs = resolve(this.root, ...relPath.split('/'));
    const rel = relative(this.root, abs);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new BaleError(
        'E_BUNDLE_HOSTILE',
        `refusing to write ${JSON.stringify(relPath)}: it leaves ${this.root}`,
      );
    }
    return abs;
  }

  /** mkdir -p for the parent of `abs`, checking that no existing component is a symlink. */
  private async ensureParent(abs: string): Promise<void> {
    const dir = dirname(abs);
    if (this.madeDirs.has(dir)) return;
    const parts = relative(this.root, dir).split(sep).filter(Boolean);
    let cur = this.root;
    // The target itself and every parent: no symlinked component (reused rule from safe-write).
    await makeSafeDir(cur);
    for (const part of parts) {
      cur = join(cur, part);
      const st = await lstat(cur).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw ioError(err, cur);
      });
      if (st === undefined) {
        await mkdir(cur).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw ioError(err, cur);
        });
        continue;
      }
      if (st.isSymbolicLink() || !st.isDirectory()) {
        throw new BaleError(
          'E_BUNDLE_HOSTILE',
          `refusing to write below ${cur}: it is not a plain directory`,
          {
            hint: 'Remove it, or choose an empty target directory.',
          },
        );
      }
    }
    this.madeDirs.add(dir);
  }

  /**
   * True when a regular file with this size (and digest, when given) is already in
   * place: a finished earlier write. Whatever else is there is replaced later.
   */
  async hasFile(relPath: string, size: number, digest?: string): Promise<boolean> {
    const abs = this.resolvePath(relPath);
    const st = await lstat(abs).catch(() => undefined);
    if (st === undefined || !st.isFile() || st.size !== size) return false;
    if (digest === undefined) return true;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    return `sha256:${hash.digest('hex')}` === digest;
  }

  /** Streams `source` to `relPath` via a temporary name; renames only once size and digest check. */
  async writeFile(
    relPath: string,
    source: Readable,
    expect: { size: number; digest?: string },
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const abs = this.resolvePath(relPath);
    await this.ensureParent(abs);
    const tmp = tempName(abs);
    const hashing = new HashingStream({ size: expect.size, digest: expect.digest, what: relPath });
    if (onBytes) hashing.on('data', (chunk: Buffer) => onBytes(chunk.length));
    try {
      const fh = await open(tmp, CREATE_NEW, 0o644);
      await pipeline(source, hashing, fh.createWriteStream());
      await rename(tmp, abs);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof BaleError) throw err;
      throw ioError(err as NodeJS.ErrnoException, abs);
    }
  }

  /** Hard link `relPath` to the existing `targetRelPath` (both under the root). Idempotent. */
  async hardlink(relPath: string, targetRelPath: string): Promise<void> {
    const abs = this.resolvePath(relPath);
    const target = this.resolvePath(targetRelPath);
    await this.ensureParent(abs);
    const [a, b] = await Promise.all([
      lstat(abs).catch(() => undefined),
      lstat(target).catch(() => undefined),
    ]);
    if (b === undefined || !b.isFile()) {
      throw new BaleError('E_BUNDLE_INCOMPLETE', `cannot link ${relPath}: ${targetRelPath} is missing`);
    }
    if (a !== undefined) {
      if (a.isFile() && a.ino === b.ino && a.dev === b.dev) return;
      await rm(abs, { force: true });
    }
    await link(target, abs).catch((err: NodeJS.ErrnoException) => {
      throw ioError(err, abs);
    });
  }

  /** Symlink `relPath` → `target` (a bare name in the same directory, like oc's tags). Idempotent. */
  async symlink(relPath: string, target: string): Promise<void> {
    if (target.includes('/') || target === '..' || target === '.' || target.length === 0) {
      throw new BaleError('E_BUNDLE_HOSTILE', `refusing symlink ${relPath} → ${JSON.stringify(target)}`);
    }
    const abs = this.resolvePath(relPath);
    await this.ensureParent(abs);
    const st = await lstat(abs).catch(() => undefined);
    if (st !== undefined) {
      if (st.isSymbolicLink() && (await readlink(abs)) === target) return;
      await rm(abs, { force: true });
    }
    const tmp = tempName(abs);
    await symlink(target, tmp);
    await rename(tmp, abs).catch(async (err: NodeJS.ErrnoException) => {
      await rm(tmp, { force: true });
      throw ioError(err, abs);
    });
  }
}
