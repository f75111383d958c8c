/**
 * Unpack's record of the upload sessions it has open in the mirror, so that a run
 * killed in the middle of an upload continues the session instead of sending the blob
 * again. One small JSON file per session under `<state dir>/uploads/`, written to a
 * temporary name and renamed after every acknowledged chunk, removed once the upload is
 * completed or cancelled. The Location is the registry's own upload URL (never
 * credentials); it is never printed.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../digest.js';
import { makeSafeSubdir, writeFileSafely } from '../../safe-write.js';
import type { Repo } from '../../registry/client.js';

interface SessionRecord {
  registry: string;
  repository: string;
  digest: string;
  location: string;
  /** Bytes the registry acknowledged when this was written. */
  offset: number;
}

export class UploadState {
  private constructor(private readonly dir: string | undefined) {}

  /** The state under `stateDir` (created if needed); without one, nothing is recorded. */
  static async open(stateDir: string | undefined, warn: (m: string) => void): Promise<UploadState> {
    if (stateDir === undefined) return new UploadState(undefined);
    try {
      return new UploadState(await makeSafeSubdir(stateDir, 'uploads'));
    } catch (err) {
      warn(
        `cannot use ${stateDir} for unpack's upload state (${(err as Error).message}): an interrupted upload will start over`,
      );
      return new UploadState(undefined);
    }
  }

  private file(repo: Repo, digest: string): string {
    return `${sha256Hex(Buffer.from(`${repo.registry}/${repo.repository}@${digest}`)).slice(0, 32)}.json`;
  }

  /** The newest Location of a session an earlier run left for this blob in this repository. */
  async get(repo: Repo, digest: string): Promise<string | undefined> {
    if (this.dir === undefined) return undefined;
    try {
      const r = JSON.parse(await readFile(join(this.dir, this.file(repo, digest)), 'utf8')) as SessionRecord;
      const same = r.registry === repo.registry && r.repository === repo.repository && r.digest === digest;
      return same && typeof r.location === 'string' ? r.location : undefined;
    } catch {
      return undefined; // none, or unreadable: start a new session
    }
  }

  async record(repo: Repo, digest: string, p: { location: string; offset: number }): Promise<void> {
    if (this.dir === undefined) return;
    const r: SessionRecord = { registry: repo.registry, repository: repo.repository, digest, ...p };
    await writeFileSafely(this.dir, this.file(repo, digest), `${JSON.stringify(r)}\n`);
  }

  async forget(repo: Repo, digest: string): Promise<void> {
    if (this.dir === undefined) return;
    await rm(join(this.dir, this.file(repo, digest)), { force: true });
  }
}

/** `$XDG_STATE_HOME/bale/unpack`, else `~/.local/state/bale/unpack`. */
export function defaultStateDir(env: Record<string, string | undefined>, homeDir: string): string {
  const base = env.XDG_STATE_HOME || join(homeDir, '.local', 'state');
  return join(base, 'bale', 'unpack');
}
