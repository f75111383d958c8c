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
 */
import { createHash, type Hash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { INDEX_FILE, INDEX_SIGNATURE_FILE, MAX_INDEX_BYTES, parseIndex } from './bundle-index.js';
import { readClusterFiles, type VerifiedClusterFile } from './cluster-files.js';
import { checkComplete, MAX_SMALL_CONTENT } from './completeness.js';
import type { BundleEntry, BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import { readBundleRelease } from './release-references.js';
import { SUMS_FILE, hashFile, readSha256Sums, type SumLine } from './sha256sums.js';
import { checkSignatures, type SignatureResult } from './signature-checks.js';
import { computeTrust, type TrustReport } from './trust-chain.js';
import {
  checkSigstoreArtifacts,
  sigstoreKeysFor,
  sigstorePayloadPaths,
  type SigstoreResult,
} from './sigstore-checks.js';
import type { SigstoreKey } from '../signature/sigstore-key.js';
import { expectedEntries } from './expected-entries.js';
import { readVolume } from './volume-reader.js';
import { readFileChunks } from './file-chunks.js';
import { MAX_ASC_BYTES } from './signature-checks.js';
import { readSmallRegularFile } from './small-file.js';
import { sha256Hex } from '../digest.js';
import { isBaleError, messageOf } from '../errors.js';
import { silentProgress, type Progress } from '../progress.js';
import type { ReleaseInfo } from '../release/parse-release.js';
import { defaultKeyringPath, loadKeyring, type Keyring } from '../signature/index.js';

export type { Problem } from './problem.js';

export { MAX_SMALL_CONTENT } from './completeness.js';
export type { SignatureResult } from './signature-checks.js';
export type { TrustReport } from './trust-chain.js';

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
  /** What anchors each image, tag and cluster object (a full verify only). */
  trust?: TrustReport;
  /** The files under config/ and manifests/ as verified (text and objects), for unpack. */
  clusterFiles?: VerifiedClusterFile[];
  /** The release payload as read from the bundle. */
  release?: ReleaseInfo;
  /** Each Sigstore signature artifact with its state (a full verify only). */
  sigstore?: SigstoreResult[];
}

export { expectedEntries } from './expected-entries.js';

/** Entries whose content verify keeps in memory for the deeper checks. */
function wantsContent(path: string, manifestBlobs: Set<string>): boolean {
  return (
    path.startsWith('signatures/') ||
    path.startsWith('config/') ||
    path.startsWith('manifests/') ||
    manifestBlobs.has(path)
  );
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
  const only = opts.volumes === undefined ? undefined : new Set(opts.volumes);

  // 1. bundle.json and SHA256SUMS.
  let rawIndex: Buffer | undefined;
  let index: BundleIndex | undefined;
  try {
    rawIndex = await readSmallRegularFile(join(dir, INDEX_FILE), MAX_INDEX_BYTES, INDEX_FILE);
    report.checked.files++;
    index = parseIndex(rawIndex, INDEX_FILE);
    report.index = index;
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ENOENT';
    add({
      code: missing ? 'E_BUNDLE_INCOMPLETE' : isBaleError(err) ? err.code : 'E_IO',
      file: INDEX_FILE,
      message: missing
        ? `${INDEX_FILE} is missing: not a bale bundle, or an incomplete copy`
        : messageOf(err),
    });
  }
  let sums: Map<string, string> | undefined;
  try {
    const parsed = await readSha256Sums(dir);
    report.checked.files++;
    sums = new Map(parsed.lines.map((l: SumLine) => [l.name, l.sha256]));
    for (const p of parsed.problems)
      add({ code: 'E_BUNDLE_INVALID', file: SUMS_FILE, message: `${SUMS_FILE}: ${p}` });
  } catch (err) {
    add({ code: isBaleError(err) ? err.code : 'E_IO', file: SUMS_FILE, message: messageOf(err) });
  }
  if (rawIndex !== undefined && sums !== undefined) {
    const listed = sums.get(INDEX_FILE);
    const actual = sha256Hex(rawIndex);
    if (listed === undefined)
      add({ code: 'E_BUNDLE_INVALID', file: SUMS_FILE, message: `${SUMS_FILE} does not list ${INDEX_FILE}` });
    else if (listed !== actual) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        file: INDEX_FILE,
        message: `${INDEX_FILE} has sha256 ${actual}, ${SUMS_FILE} says ${listed}: it was changed or damaged`,
      });
    }
  }
  const volumeNames = index?.volumes.map((v) => v.name) ?? [];
  if (sums !== undefined && only === undefined) {
    const known = new Set([INDEX_FILE, INDEX_SIGNATURE_FILE, ...volumeNames]);
    for (const name of sums.keys()) {
      if (!known.has(name) && index !== undefined) {
        add({
          code: 'E_BUNDLE_INVALID',
          file: SUMS_FILE,
          message: `${SUMS_FILE} lists ${name}, which bundle.json does not have`,
        });
      }
    }
    const asc = sums.get(INDEX_SIGNATURE_FILE);
    if (asc !== undefined) {
      try {
        const h = sha256Hex(
          await readSmallRegularFile(join(dir, INDEX_SIGNATURE_FILE), MAX_ASC_BYTES, INDEX_SIGNATURE_FILE),
        );
        if (h !== asc) {
          add({
            code: 'E_BUNDLE_CORRUPT',
            file: INDEX_SIGNATURE_FILE,
            message: `${INDEX_SIGNATURE_FILE} does not match ${SUMS_FILE}`,
          });
        }
      } catch {
        add({
          code: 'E_BUNDLE_INCOMPLETE',
          file: INDEX_SIGNATURE_FILE,
          message: `${SUMS_FILE} lists ${INDEX_SIGNATURE_FILE}, which is missing`,
        });
      }
    }
  }

  // 2. What is in the directory.
  if (only === undefined) {
    try {
      const ignore = new Set(opts.ignore ?? []);
      const allowed = new Set([INDEX_FILE, SUMS_FILE, INDEX_SIGNATURE_FILE, ...volumeNames]);
      for (const d of await readdir(dir, { withFileTypes: true })) {
        if (ignore.has(d.name)) continue;
        // Without a readable index, any volume-NNN.tar.zst may belong.
        const maybeVolume = index === undefined && /^volume-\d{3,}\.tar\.zst$/.test(d.name);
        if (!allowed.has(d.name) && !maybeVolume) {
          add({
            code: 'E_BUNDLE_INVALID',
            file: d.name,
            message: `${d.name} is not part of the bundle (a bundle holds only bundle.json, ${SUMS_FILE}, ${INDEX_SIGNATURE_FILE} and its volumes)`,
          });
        } else if (!d.isFile()) {
          add({ code: 'E_BUNDLE_INVALID', file: d.name, message: `${d.name} is not a regular file` });
        }
      }
    } catch (err) {
      add({ code: 'E_IO', message: `cannot list ${dir}: ${messageOf(err)}` });
    }
  }
  if (index === undefined) return finish();

  if (only !== undefined) {
    for (const v of only) {
      if (!volumeNames.includes(v))
        add({
          code: 'E_USAGE',
          volume: v,
          message: `${v} is not a volume of this bundle (it has ${volumeNames.join(', ')})`,
        });
    }
  }

  // 3. Volumes and entries, each volume read once.
  const idx = index;
  const locate = new Map<string, string>();
  for (const e of idx.entries) {
    if (e.parts) for (const p of e.parts) locate.set(p.path, p.volume);
    else if (e.volume !== undefined) locate.set(e.path, e.volume);
  }
  const manifestBlobs = new Set<string>();
  for (const e of idx.entries) {
    if (e.type === 'hardlink' && e.linkTarget !== undefined) manifestBlobs.add(e.linkTarget);
  }
  // Sigstore payloads are small blobs the signature checks read.
  for (const p of sigstorePayloadPaths(idx)) manifestBlobs.add(p);
  const content = new Map<string, Buffer>();
  const tooLarge = new Set<string>();
  const splitHashes = new Map<string, { hash: Hash; next: number; broken: boolean }>();
  const partOf = new Map<string, { entry: BundleEntry; index: number }>();
  for (const e of idx.entries) {
    e.parts?.forEach((p, i) => partOf.set(p.path, { entry: e, index: i }));
  }
  const selected = idx.volumes.filter((v) => only === undefined || only.has(v.name));
  progress.phase('verify', { bytes: selected.reduce((n, v) => n + v.size, 0), items: selected.length });
  for (const vol of selected) {
    const path = join(dir, vol.name);
    const listed = sums?.get(vol.name);
    if (sums !== undefined && listed === undefined) {
      add({
        code: 'E_BUNDLE_INVALID',
        file: SUMS_FILE,
        volume: vol.name,
        message: `${SUMS_FILE} does not list ${vol.name}`,
      });
    } else if (listed !== undefined && listed !== vol.sha256) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        volume: vol.name,
        message: `${vol.name}: ${SUMS_FILE} says sha256 ${listed}, bundle.json says ${vol.sha256}`,
      });
    }
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) {
        add({ code: 'E_BUNDLE_INVALID', volume: vol.name, message: `${vol.name} is not a regular file` });
        continue;
      }
      size = st.size;
    } catch {
      add({ code: 'E_BUNDLE_INCOMPLETE', volume: vol.name, message: `${vol.name} is missing from ${dir}` });
      continue;
    }
    if (size !== vol.size) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        volume: vol.name,
        message: `${vol.name} is ${size} bytes, bundle.json says ${vol.size}`,
      });
    }
    const fileHash = createHash('sha256');
    let hashed = 0;
    async function* tap(): AsyncGenerator<Buffer> {
      // Each chunk is done with (hashed, decompressed) before the next is read.
      for await (const b of readFileChunks(path)) {
        fileHash.update(b);
        hashed += b.length;
        progress.advance(b.length);
        yield b;
      }
    }
    const result = await readVolume(tap(), {
      volume: vol.name,
      expected: expectedEntries(idx, vol.name),
      locate: (p) => locate.get(p),
      onProblem: (p) => {
        add(p);
        const part = partOf.get(p.entry ?? '');
        if (part !== undefined) {
          const whole = splitHashes.get(part.entry.path);
          if (whole) whole.broken = true;
          else splitHashes.set(part.entry.path, { hash: createHash('sha256'), next: -1, broken: true });
        }
      },
      onEntry: async (e, stream) => {
        report.checked.entries++;
        if (stream === undefined) return;
        const part = partOf.get(e.path);
        const keep = part === undefined && wantsContent(e.path, manifestBlobs);
        if (keep && e.size > MAX_SMALL_CONTENT) tooLarge.add(e.path);
        const collect = keep && e.size <= MAX_SMALL_CONTENT;
        let whole: { hash: Hash; next: number; broken: boolean } | undefined;
        if (part !== undefined) {
          whole = splitHashes.get(part.entry.path);
          if (whole === undefined) {
            whole = { hash: createHash('sha256'), next: 0, broken: false };
            splitHashes.set(part.entry.path, whole);
          }
          if (whole.next !== part.index) whole.broken = true;
        }
        const chunks: Buffer[] = [];
        for await (const c of stream) {
          const b = c as Buffer;
          report.checked.bytes += b.length;
          if (collect) chunks.push(b);
          whole?.hash.update(b);
        }
        // The stream ended cleanly: these are the bytes the index vouches for.
        if (collect) content.set(e.path, Buffer.concat(chunks));
        if (whole !== undefined && part !== undefined) whole.next = part.index + 1;
      },
    });
    if (result.aborted || hashed !== size) {
      try {
        const h = await hashFile(path);
        checkVolumeDigest(vol.name, h.sha256, vol.sha256);
      } catch (err) {
        add({ code: 'E_IO', volume: vol.name, message: `cannot read ${vol.name}: ${messageOf(err)}` });
      }
    } else {
      checkVolumeDigest(vol.name, fileHash.digest('hex'), vol.sha256);
    }
    report.checked.volumes++;
  }

  if (only === undefined) {
    for (const e of idx.entries) {
      if (e.parts === undefined) continue;
      const whole = splitHashes.get(e.path);
      if (whole === undefined || whole.broken || whole.next !== e.parts.length) continue;
      const actual = whole.hash.digest('hex');
      if (actual !== e.sha256) {
        add({
          code: 'E_DIGEST_MISMATCH',
          entry: e.path,
          digest: `sha256:${e.sha256 ?? ''}`,
          message: `${e.path}: its parts join to sha256 ${actual}, bundle.json says ${e.sha256 ?? ''}`,
        });
      }
    }
    checkComplete(idx, content, tooLarge, report, add);
    await checkTrust(dir, idx, rawIndex, content, tooLarge, opts, report, add);
  }
  return finish();

  function checkVolumeDigest(name: string, actual: string, indexed: string): void {
    if (actual !== indexed) {
      add({
        code: 'E_BUNDLE_CORRUPT',
        volume: name,
        message: `${name} has sha256 ${actual}, bundle.json says ${indexed}`,
      });
    }
  }

  function finish(): VerifyReport {
    report.ok = problems.length === 0;
    return report;
  }
}

async function checkTrust(
  dir: string,
  index: BundleIndex,
  rawIndex: Buffer | undefined,
  content: Map<string, Buffer>,
  tooLarge: Set<string>,
  opts: VerifyOptions,
  report: VerifyReport,
  add: (p: Problem) => void,
): Promise<void> {
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
  if (index.release !== undefined && sigs.signed.has(index.release.digest)) {
    try {
      report.release = (await readBundleRelease(dir, index, (p) => content.get(p))).info;
    } catch (err) {
      add({
        code: isBaleError(err) ? err.code : 'E_RELEASE_INVALID',
        digest: index.release.digest,
        message: `the release payload cannot be read, so its components are not anchored: ${messageOf(err)}`,
      });
    }
  }
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
      ...(report.release ? { release: report.release } : {}),
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
