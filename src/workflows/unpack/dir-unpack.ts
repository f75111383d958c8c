import type { OpenedBundle } from '../../bundle/open-bundle.js';
import { ConfinedDirWriter } from './dir-writer.js';
import type { Progress } from '../../progress.js';

export interface DirUnpackResult {
  dir: string;
  filesWritten: number;
  filesPresent: number;
  links: number;
  bytesWritten: number;
}

/**
 * Writes the bundle's entries under `dir` exactly as oc's `--to-dir` layout has them
 * (blobs, manifest hard links, tag symlinks) plus config/ and signatures/. Files go to
 * a temporary name and are renamed once their digest checks; files already in place
 * with the right size (from an earlier run) are kept, so a re-run resumes.
 */
export async function unpackToDir(o: {
  bundle: OpenedBundle;
  dir: string;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<DirUnpackResult> {
  const writer = new ConfinedDirWriter(o.dir);
  const result: DirUnpackResult = {
    dir: writer.root,
    filesWritten: 0,
    filesPresent: 0,
    links: 0,
    bytesWritten: 0,
  };
  const { bundle } = o;
  const byPath = new Map(bundle.index.entries.map((e) => [e.path, e]));
  o.progress.phase('write directory', { bytes: bundle.index.entries.reduce((n, e) => n + e.size, 0) });

  for (const volume of bundle.volumes) {
    o.signal?.throwIfAborted();
    await bundle.readVolume(volume, {
      ...(o.signal ? { signal: o.signal } : {}),
      onEntry: async (e, content) => {
        const whole = byPath.get(e.path);
        if (!whole) return; // a part: written from all its parts below
        if (e.type === 'hardlink') {
          await writer.hardlink(e.path, e.linkTarget ?? '');
          result.links++;
        } else if (e.type === 'symlink') {
          await writer.symlink(e.path, e.linkTarget ?? '');
          result.links++;
        } else if (content) {
          const digest = e.sha256 ? `sha256:${e.sha256}` : undefined;
          if (await writer.hasFile(e.path, e.size, digest)) {
            result.filesPresent++;
            o.progress.advance(e.size);
            return;
          }
          await writer.writeFile(e.path, content, { size: e.size, digest }, (n) => o.progress.advance(n));
          result.filesWritten++;
          result.bytesWritten += e.size;
        }
      },
    });
  }
  for (const e of bundle.index.entries) {
    if (!e.parts) continue;
    o.signal?.throwIfAborted();
    const digest = e.sha256 ? `sha256:${e.sha256}` : undefined;
    if (await writer.hasFile(e.path, e.size, digest)) {
      result.filesPresent++;
      continue;
    }
    await writer.writeFile(
      e.path,
      bundle.openEntry(e, o.signal ? { signal: o.signal } : {}),
      { size: e.size, digest },
      (n) => o.progress.advance(n),
    );
    result.filesWritten++;
    result.bytesWritten += e.size;
  }
  return result;
}
