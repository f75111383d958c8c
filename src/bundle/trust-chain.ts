/**
 * The trust chain of a bundle: which root anchors each image, tag and cluster object.
 *
 * Roots: release signatures (the release keyring) over a release digest or the
 * graph-data digest, and the bundle signature (bundle.json.asc, the index keyring).
 * The chain: signed release digest → its payload's image-references → component
 * digests; signed graph-data digest → its image and its signature image; from each
 * anchored image, its manifests, children, config and layers by digest. Tags the chain
 * names must point where the chain says (else E_TRUST_MISMATCH, which nothing excuses);
 * everything else is anchored only by a verified bundle signature, else it is
 * unanchored (E_UNANCHORED) unless the user accepted unsigned content (--allow-unsigned).
 *
 * This is a pure function of what verify established: it reads nothing itself.
 */
import { componentTag } from '../release/arch.js';
import type { ReleaseInfo } from '../release/parse-release.js';
import { parseManifest } from '../registry/manifest.js';
import { messageOf } from '../errors.js';
import { blobEntryPath, isTag, manifestEntryPath, parseV2Path } from './entry-path.js';
import { releasesOf, type BundleIndex, type BundleRelease } from './index-schema.js';
import type { Problem } from './problem.js';
import type { SigstoreAnchors } from './sigstore-checks.js';

/** What vouches for an item. `unsigned` = nothing, accepted by --allow-unsigned. */
export type Anchor = 'release-signature' | 'graph-data-signature' | 'bundle-signature' | 'unsigned' | 'none';

export interface TrustItem {
  kind: 'image' | 'tag' | 'object' | 'entry';
  /** `repository@digest`, `repository:tag`, `Kind namespace/name (file)` or an entry path. */
  name: string;
  anchor: Anchor;
  /** The signed digest (and identity) or the key that anchors it. */
  by?: string;
}

export interface IndexSignatureState {
  /** signed: bundle.json.asc verifies with --index-keyring; not-checked: present but no --index-keyring. */
  state: 'signed' | 'unsigned' | 'not-checked' | 'invalid';
  keyId?: string;
  userId?: string;
  reason?: string;
}

export interface TrustReport {
  index: IndexSignatureState;
  allowUnsigned: boolean;
  items: TrustItem[];
  /** Items no root anchors (accepted only with --allow-unsigned). */
  unanchored: number;
}

/** A digest at least one signature from the release keyring verifies. */
export interface SignedDigest {
  kind: 'release' | 'graph-data';
  identities: string[];
  keyIds: string[];
}

/** A file under config/ or manifests/ as verify read it. */
export interface ClusterFile {
  path: string;
  /** A signature ConfigMap bale parsed whose every signature verifies with the release keyring. */
  verifiedSignatures: boolean;
  objects: { kind: string; namespace?: string; name: string }[];
}

export interface TrustInput {
  index: BundleIndex;
  /** Verified bytes of a manifest blob entry. */
  manifestBytes(entryPath: string): Buffer | undefined;
  /** Each release's payload as read back from the bundle, by release digest (signed releases only). */
  releases: Map<string, ReleaseInfo>;
  signed: Map<string, SignedDigest>;
  clusterFiles: ClusterFile[];
  indexSignature: IndexSignatureState;
  allowUnsigned: boolean;
  /** Sigstore artifacts a key verified for the digest their tag names (sigstore-checks.ts). */
  sigstore?: SigstoreAnchors;
}

/** OpenShift versions: semantic versions (4.18.1, 4.19.0-rc.2, 4.16.0-0.nightly-2024-06-01-000000). */
const VERSION = /^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const ARCH = /^(?:x86_64|aarch64|ppc64le|s390x|multi|amd64|arm64)$/;

/** The tag of a docker reference (`host/repo:tag`), or undefined. */
export function identityTag(identity: string): string | undefined {
  const at = identity.lastIndexOf('/');
  const colon = identity.lastIndexOf(':');
  return colon > at ? identity.slice(colon + 1) : undefined;
}

export function computeTrust(t: TrustInput, add: (p: Problem) => void): TrustReport {
  const { index } = t;
  const indexSigned = t.indexSignature.state === 'signed';
  const report: TrustReport = {
    index: t.indexSignature,
    allowUnsigned: t.allowUnsigned,
    items: [],
    unanchored: 0,
  };
  const mismatch = (p: Omit<Problem, 'code'>): void => add({ code: 'E_TRUST_MISMATCH', ...p });

  checkGrammar(index, add);

  const { roots, chainTags } = chainRoots(t, add);

  const reached = reachable(t, roots, add);
  anchorSigstore(t, roots, reached, chainTags, add);

  const fallback: Anchor = indexSigned ? 'bundle-signature' : t.allowUnsigned ? 'unsigned' : 'none';
  const indexBy = indexSigned ? `bundle.json.asc (key ${t.indexSignature.keyId ?? '?'})` : undefined;
  const item = (i: TrustItem, where: Omit<Problem, 'code' | 'message'>, what: string): void => {
    report.items.push(i);
    if (i.anchor === 'unsigned' || i.anchor === 'none') report.unanchored++;
    if (i.anchor === 'none') {
      add({
        code: 'E_UNANCHORED',
        ...where,
        message: `${what} is not anchored: no release or graph-data signature reaches it and bundle.json is ${t.indexSignature.state === 'signed' ? 'signed' : 'not signed by a key in --index-keyring'}`,
      });
    }
  };

  // Images.
  for (const img of index.images) {
    const key = `${img.repository}@${img.digest}`;
    const a = roots.get(key) ?? reached.get(manifestEntryPath(img.repository, img.digest));
    item(
      {
        kind: 'image',
        name: key,
        anchor: a?.anchor ?? fallback,
        ...((a?.by ?? indexBy) ? { by: a?.by ?? indexBy } : {}),
      },
      { digest: img.digest },
      `image ${img.name} (${key})`,
    );
  }
  // Tags and entries under v2/.
  for (const e of index.entries) {
    const at = parseV2Path(e.path);
    if (at === undefined) continue;
    if (at.kind === 'manifests' && e.type === 'symlink') {
      const key = `${at.repository}:${at.name}`;
      const want = chainTags.get(key);
      if (want !== undefined && e.linkTarget !== want) {
        mismatch({
          entry: e.path,
          digest: e.linkTarget,
          message: `tag ${key} points to ${e.linkTarget ?? '?'}, but the signed chain says ${want}`,
        });
        continue;
      }
      const a = want !== undefined ? reached.get(manifestEntryPath(at.repository, want)) : undefined;
      item(
        {
          kind: 'tag',
          name: key,
          anchor: a?.anchor ?? fallback,
          ...((a?.by ?? indexBy) ? { by: a?.by ?? indexBy } : {}),
        },
        { entry: e.path },
        `tag ${key}`,
      );
      continue;
    }
    if (reached.has(e.path)) continue;
    if (fallback === 'none') {
      add({
        code: 'E_UNANCHORED',
        entry: e.path,
        message: `${e.path} is not reached from any signed image and bundle.json is not signed by a key in --index-keyring`,
      });
    }
    report.items.push({ kind: 'entry', name: e.path, anchor: fallback, ...(indexBy ? { by: indexBy } : {}) });
    if (fallback !== 'bundle-signature') report.unanchored++;
  }
  // Cluster objects.
  for (const f of t.clusterFiles) {
    const anchor: Anchor = f.verifiedSignatures ? 'release-signature' : fallback;
    const by = f.verifiedSignatures ? 'its own signatures' : indexBy;
    const objects = f.objects.length > 0 ? f.objects : [{ kind: '(no object)', name: '' }];
    for (const o of objects) {
      const name = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name} (${f.path})`;
      item({ kind: 'object', name, anchor, ...(by ? { by } : {}) }, { entry: f.path }, name);
    }
  }
  return report;
}

/** Strings that are printed and put into commands must fit their grammar. */
function checkGrammar(index: BundleIndex, add: (p: Problem) => void): void {
  for (const r of releasesOf(index)) {
    if (!VERSION.test(r.version)) {
      add({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        message: `release version ${JSON.stringify(r.version)} is not a version (x.y.z[-pre][+build])`,
      });
    }
    if (!isTag(r.tag) || !ARCH.test(r.architecture)) {
      add({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        message: `release tag ${JSON.stringify(r.tag)} or architecture ${JSON.stringify(r.architecture)} is not valid`,
      });
    }
  }
  for (const img of index.images) {
    for (const tag of img.tags) {
      if (!isTag(tag)) {
        add({
          code: 'E_BUNDLE_INVALID',
          file: 'bundle.json',
          message: `image ${JSON.stringify(img.name)} has an invalid tag ${JSON.stringify(tag)}`,
        });
      }
    }
    if (!/^[^\s/]+(\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/.test(img.source)) {
      add({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json',
        message: `image ${JSON.stringify(img.name)}: source ${JSON.stringify(img.source)} is not <registry>/<repository> (mirror configuration names repositories, never whole registries)`,
      });
    }
  }
}

type Roots = Map<string, { anchor: Anchor; by: string }>;

/**
 * The roots: `repository@digest` → anchor for the signed release, its components and
 * the signed graph-data images; `repository:tag` → the digest the chain says it names.
 */
function chainRoots(
  t: TrustInput,
  add: (p: Problem) => void,
): { roots: Roots; chainTags: Map<string, string> } {
  const { index } = t;
  const roots: Roots = new Map();
  const chainTags = new Map<string, string>();
  // Roots from release signatures: each release by its own.
  for (const rel of releasesOf(index)) releaseRoots(t, rel, roots, chainTags, add);
  const g = index.graphData;
  const gSig = g ? t.signed.get(g.digest) : undefined;
  if (g && gSig) {
    const by = `${g.digest} signed as ${gSig.identities.join(', ')}`;
    roots.set(`${g.repository}@${g.digest}`, { anchor: 'graph-data-signature', by });
    chainTags.set(`${g.repository}:${g.tag}`, g.digest);
    if (g.signatureDigest !== undefined) {
      roots.set(`${g.repository}@${g.signatureDigest}`, { anchor: 'graph-data-signature', by });
      if (g.signatureTag !== undefined) chainTags.set(`${g.repository}:${g.signatureTag}`, g.signatureDigest);
    }
  }

  return { roots, chainTags };
}

/** The roots one signed release gives: itself, its tag, its components and their tags. */
function releaseRoots(
  t: TrustInput,
  rel: BundleRelease,
  roots: Roots,
  chainTags: Map<string, string>,
  add: (p: Problem) => void,
): void {
  const mismatch = (p: Omit<Problem, 'code'>): void => add({ code: 'E_TRUST_MISMATCH', ...p });
  const relSig = t.signed.get(rel.digest);
  const info = t.releases.get(rel.digest);
  if (relSig) {
    const by = `${rel.digest} signed as ${relSig.identities.join(', ')}`;
    if (!relSig.identities.some((id) => identityTag(id) === rel.tag)) {
      mismatch({
        digest: rel.digest,
        entry: manifestEntryPath(rel.repository, rel.tag),
        message: `the release is presented as ${rel.tag}, but its signatures name ${relSig.identities.join(', ')}`,
      });
    }
    roots.set(`${rel.repository}@${rel.digest}`, { anchor: 'release-signature', by });
    chainTags.set(`${rel.repository}:${rel.tag}`, rel.digest);
    if (info) {
      if (info.version !== rel.version) {
        mismatch({
          digest: rel.digest,
          message: `bundle.json says release ${rel.version}, its signed payload says ${info.version}`,
        });
      }
      for (const c of info.components) {
        const key = `${rel.repository}@${c.image.digest}`;
        if (!roots.has(key))
          roots.set(key, { anchor: 'release-signature', by: `image-references of ${rel.digest}` });
        try {
          chainTags.set(
            `${rel.repository}:${componentTag(info.version, rel.architecture, c.name)}`,
            c.image.digest,
          );
        } catch {
          // a name that makes no valid tag names no tag
        }
      }
      for (const img of t.index.images) {
        const c = info.components.find(
          (x) => x.image.digest === img.digest && img.repository === rel.repository,
        );
        const want = c ? `${c.image.registry}/${c.image.repository}` : undefined;
        if (c && want !== img.source) {
          mismatch({
            digest: img.digest,
            message: `image ${img.name}: bundle.json says it comes from ${img.source}, the signed image-references say ${want ?? ''}`,
          });
        }
      }
    }
  } else {
    add({
      code: 'E_UNANCHORED',
      digest: rel.digest,
      message: `release ${rel.version} (${rel.digest}) has no signature that verifies with the release keyring`,
    });
  }
}

/** Every entry path reached from the roots by digest, with the anchor that reaches it. */
function reachable(t: TrustInput, roots: Roots, add: (p: Problem) => void): Roots {
  const reached: Roots = new Map(); // entry path → anchor
  const walk = (
    repository: string,
    digest: string,
    a: { anchor: Anchor; by: string },
    depth: number,
  ): void => {
    const mpath = manifestEntryPath(repository, digest);
    const bpath = blobEntryPath(repository, digest);
    if (reached.has(mpath) || depth > 4) return;
    reached.set(mpath, a);
    reached.set(bpath, a);
    const bytes = t.manifestBytes(bpath);
    if (bytes === undefined) return; // reported by the completeness checks
    try {
      const m = parseManifest(bytes);
      for (const d of [...(m.config ? [m.config.digest] : []), ...m.layers.map((l) => l.digest)]) {
        reached.set(blobEntryPath(repository, d), a);
      }
      for (const c of m.manifests) walk(repository, c.digest, a, depth + 1);
    } catch (err) {
      add({ code: 'E_MANIFEST_INVALID', entry: bpath, message: `${bpath}: ${messageOf(err)}` });
    }
  };
  for (const [key, a] of roots) {
    const at = key.indexOf('@');
    walk(key.slice(0, at), key.slice(at + 1), a, 0);
  }

  return reached;
}

/**
 * A verified Sigstore artifact is anchored only as the signature of an image the chain
 * already anchors, in the same repository: it gets that image's anchor, its tag must
 * point at it, and its config and payload blobs are reached through it.
 */
function anchorSigstore(
  t: TrustInput,
  roots: Roots,
  reached: Roots,
  chainTags: Map<string, string>,
  add: (p: Problem) => void,
): void {
  const found: Roots = new Map();
  for (const [key, s] of t.sigstore ?? []) {
    const signed =
      roots.get(`${s.repository}@${s.signs}`) ?? reached.get(manifestEntryPath(s.repository, s.signs));
    if (
      signed === undefined ||
      (signed.anchor !== 'release-signature' && signed.anchor !== 'graph-data-signature')
    ) {
      continue;
    }
    found.set(key, { anchor: signed.anchor, by: `${s.by} (signs ${signed.by})` });
    chainTags.set(`${s.repository}:${s.tag}`, key.slice(key.indexOf('@') + 1));
  }
  for (const [k, a] of found) roots.set(k, a);
  for (const [k, a] of reachable(t, found, add)) if (!reached.has(k)) reached.set(k, a);
}
