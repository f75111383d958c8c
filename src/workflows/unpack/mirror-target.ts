import { loadCredentials } from '../../registry/credentials.js';
import { RegistryClient } from '../../registry/client.js';
import type { Progress } from '../../progress.js';
import { parseRegistryTarget } from '../../registry/registry-target.js';
import type { UnpackOptions } from './options.js';
import { BundlePush, type Destination, type PushResult } from './registry-push.js';

/** The mirror registry: its client (retries counted) and the push of this bundle. */
export interface MirrorTarget {
  /** The destination's client (the base check of an incremental bundle uses it too). */
  client: RegistryClient;
  push: BundlePush;
  finish(report: Parameters<BundlePush['finish']>[0]): Promise<PushResult & { retries: number }>;
  close(): Promise<void>;
}

export async function openMirror(
  o: UnpackOptions,
  dest: Destination,
  progress: Progress,
): Promise<MirrorTarget> {
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  let retries = 0;
  const client = new RegistryClient({
    credentials,
    tlsVerify: o.destTlsVerify ?? true,
    caFile: o.caFile,
    concurrency: o.concurrency ?? 8,
    ...(o.signal ? { signal: o.signal } : {}),
    onRetry: (e) => {
      retries++;
      progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`);
    },
  });
  // An interrupt closes the connections at once: no request outlives the abort.
  const onAbort = (): void => void client.destroy();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const push = new BundlePush({
    client,
    dest,
    concurrency: o.concurrency ?? 8,
    dryRun: Boolean(o.dryRun),
    overwrite: Boolean(o.overwrite),
    progress,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return {
    client,
    push,
    finish: async (report) => ({ ...(await push.finish(report)), retries }),
    close: async () => {
      o.signal?.removeEventListener('abort', onAbort);
      if (o.signal?.aborted) await client.destroy().catch(() => undefined);
      else await client.close();
    },
  };
}

/** The mirror `--to` names (none: verify and write the manifests only, said so). */
export function destinationOf(o: UnpackOptions, progress: Progress): Destination | undefined {
  if (!o.to && !o.toDir && !o.applyManifests && !o.applyReleaseImageSignature && !o.dryRun) {
    // Still useful: verify, then write the ConfigMaps and say what to do next.
    progress.info('no --to, --to-dir or --apply-* given: verifying and writing the manifests only');
  }
  if (o.applyManifests && o.to === undefined) {
    progress.warn(
      '--apply-manifests without --to: there is no mirror configuration to apply, only the ConfigMaps',
    );
  }
  return o.to !== undefined ? parseRegistryTarget(o.to, '--to') : undefined;
}
