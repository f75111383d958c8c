import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { silentProgress, type Progress } from '../../progress.js';
import { RegistryClient } from '../../registry/client.js';
import { loadCredentials } from '../../registry/credentials.js';
import { loadKeyrings, type Keyring } from '../../signature/keyring.js';
import { BlobFeed } from './blob-feed.js';
import { BlobStager } from './blob-stager.js';
import type { BlobOpener } from '../../registry/manifest-tree.js';
import type { MirrorSources } from '../../registry/mirror-sources.js';
import { loadPackMirrors } from './sources.js';
import { readPackInput, type PackInput } from '../../imageset/image-input.js';
import type { PackOptions } from './types.js';

const MiB = 1024 ** 2;
/** Bytes downloaded ahead of the volume writer and held in memory, unless `stagingWindow` says otherwise. */
export const DEFAULT_STAGING_WINDOW = 16 * MiB;

/** What every phase of one pack shares: its options, the registry client, the blob stager. */
export interface PackContext {
  o: PackOptions;
  /** What to carry: the release and the other images (flags and `--config` merged). */
  input: PackInput;
  progress: Progress;
  signal?: AbortSignal;
  /** The bundle directory (absolute). */
  to: string;
  stateDir: string;
  client: RegistryClient;
  /** Mirror rules: where each image is looked for before (or instead of) the host it names. */
  mirrors: MirrorSources;
  keyrings: Keyring[];
  /** Metadata blobs, kept in `.bale/blobs`. */
  stager: BlobStager;
  /** Every other blob, from the network into the volume writer. */
  feed: BlobFeed;
  /** Reads a small metadata blob through the stager (kept on disk until the end). */
  openStaged: BlobOpener;
  concurrency: number;
}

/** The registry client, keyrings and blob stager one pack shares across its phases. */
export async function openContext(
  o: PackOptions,
  to: string,
  stateDir: string,
  retries: { count: number },
): Promise<PackContext> {
  const progress = o.progress ?? silentProgress;
  const concurrency = o.concurrency ?? 8;
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  // The image set and mirror files are read before any connection: a bad one stops pack at once.
  const input = await readPackInput(o, progress);
  const mirrors = await loadPackMirrors(o);
  const client = new RegistryClient({
    credentials,
    tlsVerify: o.srcTlsVerify ?? true,
    caFile: o.caFile,
    concurrency,
    ...(o.signal ? { signal: o.signal } : {}),
    onRetry: (e) => {
      retries.count++;
      progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`);
    },
  });
  const keyrings = await loadKeyrings(o.keyrings);
  const stager = new BlobStager({ client, dir: join(stateDir, 'blobs'), signal: o.signal });
  const feed = new BlobFeed({
    client,
    concurrency,
    windowBytes: o.stagingWindow ?? DEFAULT_STAGING_WINDOW,
    signal: o.signal,
  });
  // Metadata blobs (configs, the payload layer, the graph-data signature layer) are staged
  // too: read from disk, kept until the end, never downloaded twice (not even on resume).
  const openStaged: BlobOpener = async (src, desc) => {
    const stream = createReadStream(await stager.prefetch({ digest: desc.digest, size: desc.size, src }), {
      highWaterMark: 1 << 20,
    });
    return o.signal ? addAbortSignal(o.signal, stream) : stream;
  };
  return {
    o,
    input,
    progress,
    signal: o.signal,
    to,
    stateDir,
    client,
    mirrors,
    keyrings,
    stager,
    feed,
    openStaged,
    concurrency,
  };
}
