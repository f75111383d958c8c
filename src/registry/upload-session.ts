/**
 * Staged blob uploads: the bytes go up in acknowledged chunks but the upload is not
 * completed; the caller completes it (PUT with the digest) once it has decided the blob
 * may become part of the mirror, or cancels it. A session an earlier run left behind
 * (recorded with its newest Location) is continued from where the registry says it
 * is (GET → Range), so a killed run does not send those bytes again; a session the
 * registry forgot (404, or refused as out of step) starts over.
 */
import type { Readable } from 'node:stream';
import { isBaleError } from '../errors.js';
import type { BlobRepo } from './blob-download.js';
import { completeUpload, sendChunks, uploadStatus, type UploadProgress } from './chunked-upload.js';
import type { RegistryHttp } from './registry-http.js';
import type { UploadSettings } from './upload.js';
import { cancelUpload, startUpload, type PushContext } from './upload-http.js';

export type { UploadProgress } from './chunked-upload.js';

export interface StageOptions {
  /** The newest Location of a session an earlier run started for this blob. */
  resume?: string;
  /** Hears the session's Location once opened and after each acknowledged chunk. */
  onProgress?: (p: UploadProgress) => Promise<void> | void;
  /** Where a resumed session continued (0 when it started over). */
  onResume?: (from: number) => void;
}

/** A staged upload: every byte acknowledged, not yet completed. */
export interface StagedUpload {
  location: string;
}

/** True for the answers of a registry that no longer has the session. */
export function sessionLost(err: unknown): boolean {
  if (isBaleError(err, 'E_NOT_FOUND')) return true;
  const status = isBaleError(err) ? (err.details as { status?: number } | undefined)?.status : undefined;
  return status === 400 || status === 416;
}

function context(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  open: () => Readable,
  settings: UploadSettings,
): PushContext {
  return {
    http,
    repo,
    desc,
    open,
    settings,
    what: `blob ${desc.digest} to ${repo.registry}/${repo.repository}`,
  };
}

export async function stageBlobUpload(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  open: () => Readable,
  settings: UploadSettings,
  opts: StageOptions = {},
): Promise<StagedUpload> {
  const ctx = context(http, repo, desc, open, settings);
  const startUrl = `/v2/${repo.repository}/blobs/uploads/`;
  const openSession = async (): Promise<string> => {
    const location = await http.retry(startUrl, ctx.what, () => startUpload(ctx));
    await opts.onProgress?.({ location, offset: 0 });
    return location;
  };
  let location: string | undefined;
  let start = 0;
  if (opts.resume !== undefined) {
    try {
      const st = await uploadStatus(ctx, opts.resume);
      location = st.url;
      start = st.next;
    } catch (err) {
      if (!sessionLost(err)) throw err;
    }
    opts.onResume?.(start);
  }
  location ??= await openSession();
  for (let attempt = 1; ; attempt++) {
    try {
      location = await sendChunks(ctx, location, start, opts.onProgress);
      return { location };
    } catch (err) {
      // The registry dropped the session (distribution does after a cut PATCH): start over.
      if (!sessionLost(err) || attempt >= http.policy.attempts) throw err;
      location = await openSession();
      start = 0;
    }
  }
}

/** Completes a staged upload: the registry checks the digest of everything it received. */
export async function completeStagedUpload(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  staged: StagedUpload,
  settings: UploadSettings,
): Promise<void> {
  const ctx = context(
    http,
    repo,
    desc,
    () => {
      throw new Error('a staged upload is not read again');
    },
    settings,
  );
  await http.retry(staged.location, ctx.what, () => completeUpload(ctx, staged.location));
  http.stats.blobUploads++;
}

/** Cancels an upload session (best effort: registries purge abandoned sessions). */
export async function cancelStagedUpload(
  http: RegistryHttp,
  repo: BlobRepo,
  desc: { digest: string; size: number },
  location: string,
  settings: UploadSettings,
): Promise<void> {
  await cancelUpload(
    context(
      http,
      repo,
      desc,
      () => {
        throw new Error('a cancelled upload is not read');
      },
      settings,
    ),
    location,
  );
}

/**
 * The staged-upload calls of one client, each holding one of the host's concurrency
 * slots: `stage` sends the bytes, `complete` makes the blob part of the repository,
 * `cancel` drops the session.
 */
export class UploadSessions {
  constructor(
    private readonly http: RegistryHttp,
    private readonly settings: UploadSettings,
  ) {}

  stage(
    repo: BlobRepo,
    desc: { digest: string; size: number },
    open: () => Readable,
    opts?: StageOptions,
  ): Promise<StagedUpload> {
    return this.http.limited(repo.registry, () =>
      stageBlobUpload(this.http, repo, desc, open, this.settings, opts),
    );
  }

  complete(repo: BlobRepo, desc: { digest: string; size: number }, staged: StagedUpload): Promise<void> {
    return this.http.limited(repo.registry, () =>
      completeStagedUpload(this.http, repo, desc, staged, this.settings),
    );
  }

  cancel(repo: BlobRepo, desc: { digest: string; size: number }, location: string): Promise<void> {
    return this.http.limited(repo.registry, () =>
      cancelStagedUpload(this.http, repo, desc, location, this.settings),
    );
  }
}
