/** Verify step 5: signatures, cluster files, the release payload and the chain of trust. */
import { readClusterFiles } from '../cluster-files.js';
import { MAX_SMALL_CONTENT } from '../completeness.js';
import { releasesOf } from '../index-schema.js';
import type { OpenedBundle } from '../open-bundle.js';
import type { ReleaseInfo } from '../../release/parse-release.js';
import type { Problem } from '../problem.js';
import { readBundleRelease } from '../release-references.js';
import { checkSignatures } from '../signature-checks.js';
import { computeTrust } from '../trust-chain.js';
import { checkSigstoreArtifacts, sigstoreKeysFor } from '../sigstore-checks.js';
import type { VerifyOptions, VerifyReport } from '../verify-bundle.js';
import { isBaleError, messageOf } from '../../errors.js';
import { defaultKeyringPath, loadKeyring } from '../../signature/index.js';

export async function checkTrust(
  bundle: OpenedBundle,
  rawIndex: Buffer | undefined,
  content: Map<string, Buffer>,
  tooLarge: Set<string>,
  opts: VerifyOptions,
  report: VerifyReport,
  add: (p: Problem) => void,
): Promise<void> {
  const { dir, index } = bundle;
  let keyrings = opts.keyrings;
  if (keyrings === undefined) {
    try {
      keyrings = [await loadKeyring(defaultKeyringPath())];
    } catch (err) {
      add({ code: 'E_KEYRING', message: `cannot load the default keyring: ${messageOf(err)}` });
      keyrings = [];
    }
  }
  const sigs = await checkSignatures({
    dir,
    index,
    rawIndex,
    content,
    keyrings,
    indexKeyrings: opts.indexKeyrings,
    ...(opts.now ? { now: opts.now } : {}),
    add,
  });
  for (const path of tooLarge) {
    if (path.startsWith('signatures/'))
      add({ code: 'E_TOO_LARGE', entry: path, message: `${path} is larger than ${MAX_SMALL_CONTENT} bytes` });
  }
  report.signatures = sigs.results;
  report.checked.signatures = sigs.results.length;
  const clusterFiles = readClusterFiles({
    index,
    content,
    tooLarge,
    verifiedConfigMaps: sigs.verifiedConfigMaps,
    add,
  });
  report.clusterFiles = clusterFiles;
  // Each signed release's payload, read back: its image-references anchor its components.
  const payloads = new Map<string, ReleaseInfo>();
  for (const rel of releasesOf(index)) {
    if (!sigs.signed.has(rel.digest)) continue;
    try {
      const read = await readBundleRelease(bundle, (p) => content.get(p), rel, {
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      payloads.set(rel.digest, read.info);
    } catch (err) {
      opts.signal?.throwIfAborted();
      add({
        code: isBaleError(err) ? err.code : 'E_RELEASE_INVALID',
        digest: rel.digest,
        message: `the payload of release ${rel.version} cannot be read, so its components are not anchored: ${messageOf(err)}`,
      });
    }
  }
  report.releases = [...payloads.values()];
  if (report.releases[0]) report.release = report.releases[0];
  const sigstore = checkSigstoreArtifacts({
    index,
    content,
    keys: await sigstoreKeysFor(index, opts.sigstoreKeys, add),
    allowUnsigned: Boolean(opts.allowUnsigned),
    add,
  });
  if (index.sigstore !== undefined) report.sigstore = sigstore.results;
  // A bundle that already fails integrity or signature checks would list every item its
  // damage cuts off from the chain: name the cause, not its consequences (the trust
  // report still shows each item's anchor).
  const failing = report.problems.length > 0;
  report.trust = computeTrust(
    {
      index,
      manifestBytes: (p) => content.get(p),
      releases: payloads,
      signed: sigs.signed,
      clusterFiles,
      indexSignature: sigs.index,
      allowUnsigned: Boolean(opts.allowUnsigned),
      sigstore: sigstore.anchors,
    },
    (p) => {
      if (!failing || p.code !== 'E_UNANCHORED') add(p);
    },
  );
}
