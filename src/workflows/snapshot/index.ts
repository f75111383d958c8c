/**
 * `bale snapshot`: the textual fingerprint of what a registry (under a prefix) or a
 * bundle holds, as an image set and its promoter-shaped document. A library call: the
 * CLI renders the document (YAML, CSV or JSON).
 */
import { abortable } from '../../abortable.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.js';
import { loadCredentials } from '../../registry/credentials.js';
import { formatRegistryTarget, parseRegistryTarget } from '../../registry/registry-target.js';
import type { ImageSet } from '../../sets/inventory.js';
import { snapshotFromSet, type SnapshotDocument } from '../../sets/snapshot-document.js';
import type { Keyring } from '../../signature/keyring.js';
import { collectBundleSet } from './bundle-snapshot.js';
import { collectRegistrySet } from './registry-snapshot.js';

export { collectBundleSet, setFromIndex } from './bundle-snapshot.js';
export { collectRegistrySet } from './registry-snapshot.js';

export interface SnapshotOptions {
  /** `<registry>[/<prefix>]`; exactly one of `registry` and `bundleDir`. */
  registry?: string;
  bundleDir?: string;
  /** Repository names relative to the prefix, instead of the catalog. */
  repositories?: string[];
  minimal?: boolean;
  /** --bundle only: run the full verification first. */
  verifyBundle?: boolean;
  keyrings?: Keyring[];
  registryConfig?: string;
  tlsVerify?: boolean;
  caFile?: string;
  concurrency?: number;
  /** Catalog and tag list page size (default 1000). */
  pageSize?: number;
  /** Retry policy of the registry client (default: the client's). */
  retry?: RegistryClientOptions['retry'];
  env: Record<string, string | undefined>;
  homeDir: string;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface SnapshotResult {
  /** `registry/prefix`, or `bundle <dir>`. */
  source: string;
  set: ImageSet;
  document: SnapshotDocument;
}

export async function snapshot(o: SnapshotOptions): Promise<SnapshotResult> {
  if ((o.registry === undefined) === (o.bundleDir === undefined)) {
    throw new BaleError('E_USAGE', 'name a registry or --bundle DIR (one of them)', {
      hint: 'bale snapshot mirror.example.com:5000/ocp4, or bale snapshot --bundle /media/usb/bale.',
    });
  }
  if (o.bundleDir !== undefined) {
    if (o.repositories !== undefined && o.repositories.length > 0)
      throw new BaleError('E_USAGE', '--repository applies to a registry, not to --bundle', {
        hint: 'Leave out --repository with --bundle.',
      });
    const set = await collectBundleSet({
      bundleDir: o.bundleDir,
      minimal: Boolean(o.minimal),
      ...(o.verifyBundle
        ? {
            verify: {
              ...(o.keyrings ? { keyrings: o.keyrings } : {}),
              ...(o.progress ? { progress: o.progress } : {}),
            },
          }
        : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
    return { source: `bundle ${o.bundleDir}`, set, document: snapshotFromSet(set) };
  }
  const target = parseRegistryTarget(o.registry ?? '', 'registry');
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  const client = new RegistryClient({
    credentials,
    tlsVerify: o.tlsVerify ?? true,
    ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
    concurrency: o.concurrency ?? 8,
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    onRetry: (e) =>
      o.progress?.warn(
        `retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`,
      ),
  });
  try {
    const set = await abortable(
      collectRegistrySet({
        client,
        target,
        ...(o.repositories !== undefined && o.repositories.length > 0
          ? { repositories: o.repositories }
          : {}),
        minimal: Boolean(o.minimal),
        ...(o.pageSize !== undefined ? { pageSize: o.pageSize } : {}),
        ...(o.progress !== undefined ? { progress: o.progress } : {}),
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
      }),
      o.signal,
    );
    return { source: formatRegistryTarget(target), set, document: snapshotFromSet(set) };
  } finally {
    if (o.signal?.aborted) await client.destroy();
    else await client.close();
  }
}
