import type { BundleIndex } from './index-schema.js';
import type { ExpectedEntry } from './volume-reader.js';

/** Whole entries and parts the index puts in `volume`, in index order. */
export function expectedEntries(index: BundleIndex, volume: string): ExpectedEntry[] {
  const out: ExpectedEntry[] = [];
  for (const e of index.entries) {
    if (e.parts) {
      for (const p of e.parts) {
        if (p.volume === volume) out.push({ path: p.path, type: 'file', size: p.size, sha256: p.sha256 });
      }
    } else if (e.volume === volume) {
      const x: ExpectedEntry = { path: e.path, type: e.type, size: e.size };
      if (e.sha256 !== undefined) x.sha256 = e.sha256;
      if (e.linkTarget !== undefined) x.linkTarget = e.linkTarget;
      out.push(x);
    }
  }
  return out;
}
