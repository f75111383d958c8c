/** Whether anything (a file, a directory, a dangling link) is at a path; links are not followed. */
import { lstat } from 'node:fs/promises';

export async function pathExists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
