/**
 * Writing a file outside the bundle (the manifests directory, the state directory)
 * without following links someone else planted: the directory and each of its parents
 * must not be symlinks, the temporary file has an unpredictable name and is created
 * exclusively (O_EXCL | O_NOFOLLOW), and rename() replaces whatever sits at the target
 * name (a planted symlink included) instead of writing through it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { BaleError } from './errors.js';

/** Throws E_BUNDLE_HOSTILE when any component of `dir` (absolute) is a symlink. */
export async function assertNoSymlinks(dir: string): Promise<void> {
  const abs = resolve(dir);
  const parts = abs.split(sep).filter(Boolean);
  let at: string = sep;
  for (const p of parts) {
    at = join(at, p);
    const st = await lstat(at).catch(() => undefined);
    if (st === undefined) return; // the rest does not exist yet
    if (st.isSymbolicLink()) {
      throw new BaleError('E_BUNDLE_HOSTILE', `${at} is a symbolic link: bale does not write through links`, {
        hint: 'Name a real directory (resolve the link yourself if you trust it).',
        details: { path: at },
      });
    }
    if (!st.isDirectory()) {
      throw new BaleError('E_IO', `${at} is not a directory`, { details: { path: at } });
    }
  }
}

/** Creates `dir` (and parents) after checking that no existing component is a link. */
export async function makeSafeDir(dir: string): Promise<void> {
  await assertNoSymlinks(dir);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await assertNoSymlinks(dir);
}

/** Writes `data` to `dir/name` via an exclusively created, randomly named temporary file. */
export async function writeFileSafely(dir: string, name: string, data: string | Buffer): Promise<string> {
  if (name.includes('/') || name === '..' || name === '.' || name === '') {
    throw new BaleError('E_BUNDLE_HOSTILE', `refusing to write a file named ${JSON.stringify(name)}`);
  }
  await assertNoSymlinks(dir);
  const target = join(dir, name);
  const tmp = join(dirname(target), `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  const fh = await open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, target);
  return target;
}

/**
 * Creates `root/parts…` one component at a time, refusing any of `parts` that exists as
 * a symlink or a non-directory (the state directory inside a bundle: someone with write
 * access to the media could plant `.bale` → elsewhere). `root` itself is the user's choice.
 */
export async function makeSafeSubdir(root: string, ...parts: string[]): Promise<string> {
  let at = resolve(root);
  await mkdir(at, { recursive: true });
  for (const p of parts) {
    at = join(at, p);
    await mkdir(at, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const st = await lstat(at);
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new BaleError(
        'E_BUNDLE_HOSTILE',
        `${at} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: bale does not write through it`,
        {
          hint: `Someone else put it there. Check the directory, remove ${at}, and run the same command again.`,
          details: { path: at },
        },
      );
    }
  }
  return at;
}
