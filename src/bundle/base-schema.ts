/**
 * bundle.json's `base` (an incremental bundle): key order and validation, kept apart
 * from bundle-index.ts so each stays one concept.
 */
import { isHex64, isRepository } from './entry-path.js';
import type { BundleBase } from './index-schema.js';

type Obj = Record<string, unknown>;

export const BASE_KEYS = {
  base: ['kind', 'file', 'sha256', 'created', 'digests'],
  digest: ['digest', 'repository', 'size', 'mountTo'],
} as const;

/** The checks validateIndex applies, for the parts kept in functions of their own. */
export interface Checks {
  obj(v: unknown, where: string, keys: readonly string[]): Obj | undefined;
  str(o: Obj, k: string, where: string, optional?: boolean): string | undefined;
  int(o: Obj, k: string, where: string): number | undefined;
  digest(o: Obj, k: string, where: string, optional?: boolean): void;
  repo(o: Obj, k: string, where: string): void;
  arr(o: Obj, k: string, where: string, optional?: boolean): unknown[];
  bad(where: string, what: string): void;
}

/**
 * `base` (an incremental bundle): each digest once, sorted, in a valid repository, and
 * none the bundle carries in that repository (a digest is either carried or relied on).
 */
export function validateBase(value: unknown, paths: Map<string, unknown>, c: Checks): void {
  const o = c.obj(value, 'base', BASE_KEYS.base);
  if (!o) return;
  if (o.kind !== 'snapshot' && o.kind !== 'bundle') c.bad('base.kind', 'must be "snapshot" or "bundle"');
  const file = c.str(o, 'file', 'base');
  if (
    file !== undefined &&
    (file.includes('/') ||
      file.includes('\\') ||
      [...file].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
  )
    c.bad('base.file', 'must be a file name without a directory or control characters');
  if (!isHex64(o.sha256)) c.bad('base.sha256', 'must be 64 lowercase hex characters');
  c.str(o, 'created', 'base', true);
  let last = '';
  c.arr(o, 'digests', 'base').forEach((d, i) => {
    const w = `base.digests[${i}]`;
    const e = c.obj(d, w, BASE_KEYS.digest);
    if (!e) return;
    c.digest(e, 'digest', w);
    c.repo(e, 'repository', w);
    if (e.size !== undefined) c.int(e, 'size', w);
    const digest = typeof e.digest === 'string' ? e.digest : '';
    if (digest <= last) c.bad(`${w}.digest`, 'must be listed once, in sorted order');
    last = digest;
    const mountTo = c.arr(e, 'mountTo', w, true);
    mountTo.forEach((r, j) => {
      if (!isRepository(r)) c.bad(`${w}.mountTo[${j}]`, 'must be a repository path');
    });
    // Where the bundle relies on it (mounted into, or else expected in) it must not be carried;
    // the repository it is mounted from may carry it for another image of the bundle.
    for (const r of mountTo.length > 0 ? mountTo : [e.repository]) {
      if (typeof r === 'string' && paths.has(`v2/${r}/blobs/${digest}`))
        c.bad(w, `${digest} is both carried (v2/${r}/blobs/) and relied on in the base`);
    }
  });
}

/** What verify, inspect and unpack say about an incremental bundle's base. */
export interface BaseSummary {
  kind: 'snapshot' | 'bundle';
  file: string;
  sha256: string;
  created?: string;
  /** Blobs relied on at the destination without being carried. */
  digests: number;
  /** Their bytes (as far as sizes are recorded). */
  bytes: number;
}

export function baseSummary(index: { base?: BundleBase }): BaseSummary | undefined {
  const b = index.base;
  if (b === undefined) return undefined;
  return {
    kind: b.kind,
    file: b.file,
    sha256: b.sha256,
    ...(b.created !== undefined ? { created: b.created } : {}),
    digests: b.digests.length,
    bytes: b.digests.reduce((n, d) => n + (d.size ?? 0), 0),
  };
}

/** One line for people: `incremental bundle: relies on N blob(s) (SIZE) …`. */
export function describeBase(s: BaseSummary, size: (n: number) => string): string {
  return `incremental bundle: relies on ${s.digests} blob(s) (${size(s.bytes)}) at the destination instead of carrying them; base: ${s.kind} ${s.file} (sha256 ${s.sha256.slice(0, 12)}…${s.created ? `, created ${s.created}` : ''})`;
}
