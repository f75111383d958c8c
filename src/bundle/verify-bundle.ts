/**
 * `bale verify`: checks a bundle end to end without trusting it, and reports every
 * problem found rather than stopping at the first. Each volume is read once.
 *
 * Levels: the bundle directory (SHA256SUMS vs bundle.json vs the files there), each
 * volume (size and sha256 vs the index), each entry (allowed, listed, size, sha256,
 * a blob's bytes vs its digest), completeness (every manifest's config, layers and
 * children present, every tag resolves, every image of the index present), and
 * signatures (release signatures, the signature ConfigMap(s), graph-data signatures,
 * bundle.json.asc). With `volumes`, only those volumes and their entries are checked.
 * The steps are in verify-steps/, in the order they run here.
 */
import type { VerifiedClusterFile } from './cluster-files.js';
import { checkComplete } from './completeness.js';
import type { BundleIndex } from './index-schema.js';
import { bundleOf, type OpenedBundle } from './open-bundle.js';
import type { Problem } from './problem.js';
import type { SignatureResult } from './signature-checks.js';
import type { TrustReport } from './trust-chain.js';
import { checkDirectory, readBundleFiles } from './verify-steps/bundle-files.js';
import type { EntryTap } from './verify-steps/entry-tap.js';
import { readVolumes } from './verify-steps/read-volumes.js';
import { checkTrust } from './verify-steps/trust.js';
import { silentProgress, type Progress } from '../progress.js';
import type { ReleaseInfo } from '../release/parse-release.js';
import type { Keyring } from '../signature/index.js';
import type { SigstoreKey } from '../signature/sigstore-key.js';
import type { SigstoreResult } from './sigstore-checks.js';

export type { Problem } from './problem.js';
export { MAX_SMALL_CONTENT } from './completeness.js';
export type { SignatureResult } from './signature-checks.js';
export type { TrustReport } from './trust-chain.js';
export type { EntryTap, TapSink } from './verify-steps/entry-tap.js';
export { expectedEntries } from './expected-entries.js';

export interface VerifyOptions {
  /** Release keyrings (release and graph-data signatures); default: bale's Red Hat release key. */
  keyrings?: Keyring[];
  /** Keyrings for bundle.json.asc only; without them the bundle signature is not checked. */
  indexKeyrings?: Keyring[];
  /** Accept content no signature anchors (reported as such, not as a problem). */
  allowUnsigned?: boolean;
  /** Check only these volumes (names as in bundle.json); skips completeness and signatures. */
  volumes?: string[];
  progress?: Progress;
  /** Names in the bundle directory that are not reported as extra files (e.g. pack's `.bale` state). */
  ignore?: string[];
  /** Time for signature expiry checks. */
  now?: Date;
  /** Receives entries' bytes as they are read (unpack's single pass). */
  tap?: EntryTap;
  /** Volumes read at the same time (default and at most 4). */
  concurrency?: number;
  /** Stops reading the volumes (at the next chunk); the caller reports the interrupt. */
  signal?: AbortSignal;
  /** Sigstore public keys for the `.sig` artifacts; default: the shipped Red Hat key. */
  sigstoreKeys?: SigstoreKey[];
}

export interface VerifyReport {
  ok: boolean;
  problems: Problem[];
  checked: {
    files: number;
    volumes: number;
    entries: number;
    bytes: number;
    manifests: number;
    tags: number;
    signatures: number;
  };
  signatures: SignatureResult[];
  /** The index, when it could be read. */
  index?: BundleIndex;
  /** The bundle's readers over the index as verified (when it could be read). */
  bundle?: OpenedBundle;
  /** What anchors each image, tag and cluster object (a full verify only). */
  trust?: TrustReport;
  /** The files under config/ and manifests/ as verified (text and objects), for unpack. */
  clusterFiles?: VerifiedClusterFile[];
  /** The first release's payload as read from the bundle (see `releases`). */
  release?: ReleaseInfo;
  /** Every signed release's payload as read from the bundle, in bundle.json order. */
  releases?: ReleaseInfo[];
  /** Small entries (manifests, signatures, config files) by path, as verified: never re-read. */
  content?: ReadonlyMap<string, Buffer>;
  /** Each Sigstore signature artifact with its state (a full verify only). */
  sigstore?: SigstoreResult[];
}

export async function verifyBundle(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const progress = opts.progress ?? silentProgress;
  const problems: Problem[] = [];
  const report: VerifyReport = {
    ok: false,
    problems,
    checked: { files: 0, volumes: 0, entries: 0, bytes: 0, manifests: 0, tags: 0, signatures: 0 },
    signatures: [],
  };
  const add = (p: Problem): void => {
    problems.push(p);
  };
  const finish = (): VerifyReport => {
    report.ok = problems.length === 0;
    return report;
  };
  const only = opts.volumes === undefined ? undefined : new Set(opts.volumes);

  // 1. bundle.json and SHA256SUMS.
  const files = await readBundleFiles(dir, add, { wholeBundle: only === undefined });
  report.checked.files = (files.rawIndex ? 1 : 0) + (files.sums ? 1 : 0);
  if (files.index) report.index = files.index;

  // 2. What is in the directory.
  if (only === undefined) await checkDirectory(dir, files.index, opts.ignore ?? [], add);
  if (files.index === undefined || files.rawIndex === undefined) return finish();
  const index = files.index;
  const bundle = bundleOf(dir, {
    rawIndex: files.rawIndex,
    index,
    ...(files.sums ? { sums: files.sums } : {}),
  });
  report.bundle = bundle;
  if (only !== undefined) {
    for (const v of only) {
      if (!bundle.volumes.includes(v))
        add({
          code: 'E_USAGE',
          volume: v,
          message: `${v} is not a volume of this bundle (it has ${bundle.volumes.join(', ')})`,
        });
    }
  }

  // 3. Volumes and entries, each volume read once (split entries joined and hashed).
  const found = await readVolumes(
    bundle,
    only,
    {
      progress,
      ...(opts.tap ? { tap: opts.tap } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    add,
  );
  report.checked.volumes = found.checked.volumes;
  report.checked.entries = found.checked.entries;
  report.checked.bytes = found.checked.bytes;
  report.content = found.content;
  if (only !== undefined) return finish();

  // 4. Completeness: every manifest's config, layers and children, every tag.
  checkComplete(index, found.content, found.tooLarge, report, add);
  // 5. Signatures, cluster files, the release payload, the chain of trust.
  await checkTrust(bundle, files.rawIndex, found.content, found.tooLarge, opts, report, add);
  return finish();
}
