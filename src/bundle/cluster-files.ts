/**
 * The files of a bundle that can reach a cluster (everything under config/ and
 * manifests/), as verify read and checked them: their text and the objects in it.
 * A file too large to check, or that does not parse, is a problem: never skipped.
 * unpack writes and applies exactly these bytes, never re-reading the volumes.
 */
import { parseManifests } from '../cluster/manifests.js';
import type { KubeObject } from '../cluster/kube-object.js';
import { isBaleError, messageOf } from '../errors.js';
import { MAX_SMALL_CONTENT } from './completeness.js';
import type { BundleIndex } from './index-schema.js';
import type { Problem } from './problem.js';
import type { ClusterFile } from './trust-chain.js';

export interface VerifiedClusterFile extends ClusterFile {
  text: string;
  kubeObjects: KubeObject[];
  /** Listed in bundle.json `manifests` (what unpack writes and applies). */
  listed: boolean;
}

export function isClusterFile(path: string): boolean {
  return path.startsWith('config/') || path.startsWith('manifests/');
}

export function readClusterFiles(o: {
  index: BundleIndex;
  content: Map<string, Buffer>;
  tooLarge: Set<string>;
  verifiedConfigMaps: Set<string>;
  add: (p: Problem) => void;
}): VerifiedClusterFile[] {
  const { index, add } = o;
  const entries = new Map(index.entries.map((e) => [e.path, e]));
  for (const p of index.manifests) {
    const e = entries.get(p);
    if (e === undefined || e.type !== 'file' || !isClusterFile(p)) {
      add({
        code: 'E_BUNDLE_INVALID',
        entry: p,
        message: `bundle.json lists manifest ${p}, which is not a file under config/ or manifests/ in the bundle`,
      });
    }
  }
  const listed = new Set(index.manifests);
  const out: VerifiedClusterFile[] = [];
  for (const e of index.entries) {
    if (!isClusterFile(e.path)) continue;
    if (e.type !== 'file' || e.parts !== undefined) {
      add({ code: 'E_BUNDLE_INVALID', entry: e.path, message: `${e.path} is not a single regular file` });
      continue;
    }
    if (o.tooLarge.has(e.path)) {
      add({
        code: 'E_TOO_LARGE',
        volume: e.volume,
        entry: e.path,
        message: `${e.path} is ${e.size} bytes, larger than ${MAX_SMALL_CONTENT}: it cannot be checked, so it is refused`,
      });
      continue;
    }
    const bytes = o.content.get(e.path);
    if (bytes === undefined) continue; // its entry has a problem of its own
    const text = bytes.toString('utf8');
    let kubeObjects: KubeObject[];
    try {
      kubeObjects = parseManifests(text, e.path);
    } catch (err) {
      add({
        code: isBaleError(err) ? err.code : 'E_CONFIG',
        volume: e.volume,
        entry: e.path,
        message: `${e.path}: ${messageOf(err)}`,
      });
      continue;
    }
    const verifiedSignatures = o.verifiedConfigMaps.has(e.path) && kubeObjects.length === 1;
    out.push({
      path: e.path,
      text,
      kubeObjects,
      listed: listed.has(e.path),
      verifiedSignatures,
      objects: kubeObjects.map((k) => ({
        kind: k.kind,
        ...(k.metadata.namespace ? { namespace: k.metadata.namespace } : {}),
        name: k.metadata.name,
      })),
    });
  }
  return out;
}
