/**
 * Pushing a bundle into a mirror registry, in one pass over the media or two.
 *
 * One pass (the default): the mirror is asked (HEAD) what it has, then the volumes are
 * verified while the blobs it lacks go up (verify's EntryTap, push-tap.ts); only once
 * the whole bundle verified are the manifests (children first, their verified bytes)
 * and then the tags pushed. A bundle that fails leaves only unreferenced blobs.
 * Two passes (`--verify-first`, and `--dry-run`): verify, then read the volumes again.
 */
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import type { EntryTap, VerifyReport } from '../../bundle/verify-bundle.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import type { RegistryClient } from '../../registry/client.js';
import { BlobPusher } from './blob-pusher.js';
import { checkDestination, type DestinationState } from './check-destination.js';
import { imageStatus, type PushImageStatus } from './image-status.js';
import { pushFromVolumes } from './push-from-volumes.js';
import { pushManifests, verifiedManifests } from './push-manifests.js';
import { StagedPush } from './push-tap.js';
import { pushableRepositories, type Destination, type RepoContent } from './repositories.js';
import type { UploadState } from './upload-state.js';
import { indexPrecheck } from '../../bundle/verify-steps/index-names.js';

export { destRepository, bundleRepositories, type Destination } from './repositories.js';
export type { PushImageStatus } from './image-status.js';

export interface PushResult {
  registry: string;
  dryRun: boolean;
  blobsUploaded: number;
  blobsMounted: number;
  blobsPresent: number;
  bytesUploaded: number;
  manifestsPushed: number;
  manifestsPresent: number;
  tagsPushed: number;
  tagsPresent: number;
  images: PushImageStatus[];
  /** Upload sessions an earlier (interrupted) run had started that this run continued, and their bytes already sent. */
  resumed?: { sessions: number; bytes: number };
}

export interface PushOptions {
  client: RegistryClient;
  dest: Destination;
  concurrency: number;
  dryRun: boolean;
  /** Re-point tags the mirror has at another digest (else E_TAG_CONFLICT before anything is pushed). */
  overwrite?: boolean;
  progress: Progress;
  signal?: AbortSignal;
}

/** One push of one bundle: `prepare` (single pass only), verify with `tap`, then `finish`. */
export class BundlePush {
  private repos: RepoContent[] | undefined;
  private state: DestinationState | undefined;
  private pusher: BlobPusher | undefined;
  private opened: OpenedBundle | undefined;
  private staged: StagedPush | undefined;

  constructor(private readonly o: PushOptions) {}

  /**
   * Single pass: decides from the checked index what may be pushed and asks the mirror
   * what it has; returns the tap that stages blobs while verify reads them. An index
   * that is not consistent in itself gets no tap: nothing is sent before the audit ends.
   */
  async prepare(bundle: OpenedBundle, uploads: UploadState): Promise<EntryTap | undefined> {
    if (indexPrecheck(bundle.index).length > 0) return undefined;
    this.opened = bundle;
    this.repos = pushableRepositories(bundle.index, this.o.dest);
    this.state = await this.check(this.repos);
    this.pusher = this.newPusher(bundle, this.state);
    this.staged = new StagedPush({ client: this.o.client, pusher: this.pusher, state: this.state, uploads });
    return this.staged.tap();
  }

  /**
   * Verify did not pass. `cancel`: the bundle failed its audit, so the upload sessions
   * not completed are cancelled; otherwise (an error, an interrupt) uploads under way
   * are only waited for, and stay recorded for the next run. Returns the number of
   * blobs completed (unreferenced: no manifest names them in the mirror).
   */
  async abandon(cancel: boolean): Promise<number> {
    if (cancel && this.staged) return this.staged.cancel();
    await this.pusher?.drain();
    return 0;
  }

  /** Sessions this run continued, and the bytes earlier runs had sent of them. */
  get resumed(): { sessions: number; bytes: number } {
    return { sessions: this.staged?.sessionsResumed ?? 0, bytes: this.staged?.resumedBytes ?? 0 };
  }

  /** After a verify that passed: the blobs (two passes), then manifests and tags. */
  async finish(report: VerifyReport): Promise<PushResult> {
    const bundle = report.bundle;
    if (bundle === undefined) throw new BaleError('E_BUNDLE_INVALID', 'the bundle index could not be read');
    if (this.opened !== undefined && !this.opened.rawIndex.equals(bundle.rawIndex)) {
      await this.abandon(true);
      throw new BaleError(
        'E_BUNDLE_CORRUPT',
        `${bundle.dir}: bundle.json changed while it was being unpacked`,
        {
          hint: 'No manifest or tag was pushed. Make sure nothing writes to the bundle directory, then run the same command again.',
        },
      );
    }
    const repos = this.repos ?? pushableRepositories(bundle.index, this.o.dest);
    const state = this.state ?? (await this.check(repos));
    const manifests = verifiedManifests(report.content);
    const result: PushResult = {
      registry: this.o.dest.registry,
      dryRun: this.o.dryRun,
      blobsUploaded: 0,
      blobsMounted: 0,
      blobsPresent: state.blobsPresent,
      bytesUploaded: 0,
      manifestsPushed: 0,
      manifestsPresent: 0,
      tagsPushed: 0,
      tagsPresent: 0,
      images: [],
    };
    if (this.o.dryRun) {
      result.images = imageStatus(repos, state, manifests);
      return result;
    }
    let pusher = this.pusher;
    if (pusher !== undefined && this.staged !== undefined) {
      await this.staged.commit();
    } else if (pusher === undefined) {
      pusher = this.newPusher(bundle, state);
      this.o.progress.phase('push blobs', {
        bytes: [...state.missing.values()].reduce((n, m) => n + m.entry.size, 0),
      });
      await pushFromVolumes({
        bundle,
        pusher,
        state,
        concurrency: this.o.concurrency,
        signal: this.o.signal,
      });
    } else {
      await pusher.settle();
    }
    const c = pusher.counts;
    Object.assign(result, {
      blobsUploaded: c.blobsUploaded,
      blobsMounted: c.blobsMounted,
      blobsPresent: state.blobsPresent + c.blobsPresent,
      bytesUploaded: c.bytesUploaded,
    });
    const m = await pushManifests({
      repos,
      client: this.o.client,
      state,
      manifests,
      progress: this.o.progress,
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
    Object.assign(result, m);
    if (this.staged) result.resumed = this.resumed;
    result.images = imageStatus(repos, state, manifests);
    return result;
  }

  private check(repos: RepoContent[]): Promise<DestinationState> {
    return checkDestination({
      repos,
      client: this.o.client,
      registry: this.o.dest.registry,
      concurrency: this.o.concurrency,
      overwrite: Boolean(this.o.overwrite),
      progress: this.o.progress,
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
  }

  private newPusher(bundle: OpenedBundle, state: DestinationState): BlobPusher {
    return new BlobPusher({
      client: this.o.client,
      bundle,
      state,
      concurrency: this.o.concurrency,
      progress: this.o.progress,
      ...(this.o.signal ? { signal: this.o.signal } : {}),
    });
  }
}
