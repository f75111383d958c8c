import type tar from 'tar-stream';
import { entryPathProblem, linkProblem } from './entry-path.js';
import type { Problem } from './problem.js';
import type { ExpectedEntry } from './volume-reader.js';

/** A problem with one tar entry's header; `fatal` stops reading the volume. */
export type EntryProblem = Omit<Problem, 'volume'> & { fatal?: boolean };

/** What the header checks of one volume know: the index's entries and what came before. */
export interface EntryCheckState {
  volume: string;
  expected: ReadonlyMap<string, ExpectedEntry>;
  /** Paths seen so far in this volume (safe paths only). */
  seen: ReadonlySet<string>;
  /** Regular files seen so far (hard links may point only to these). */
  seenFiles: ReadonlySet<string>;
  /** Which volume the index puts a path in. */
  locate?: (path: string) => string | undefined;
}

const HANDLED_TYPES = new Set(['file', 'symlink', 'link']);

/** The `digest` field of a problem about `e`, when the index gives one. */
export function digestOf(e: ExpectedEntry): { digest?: string } {
  return e.sha256 === undefined ? {} : { digest: `sha256:${e.sha256}` };
}

/**
 * Checks one tar header before its body is read: first that the entry is safe to
 * handle at all (path, type, mode, links), then that it is what the index says
 * (listed for this volume, once, same type, link target and size).
 */
export function entryHeaderProblem(h: tar.Header, state: EntryCheckState): EntryProblem | undefined {
  return hostileEntryProblem(h, state) ?? indexMismatchProblem(h, state);
}

/** Content that is unsafe whatever the index says. */
function hostileEntryProblem(h: tar.Header, state: EntryCheckState): EntryProblem | undefined {
  const { volume } = state;
  const name = h.name;
  const type = h.type as string;
  const hostile = (message: string): EntryProblem => ({ code: 'E_BUNDLE_HOSTILE', entry: name, message });
  const pathBad = entryPathProblem(name);
  if (pathBad !== undefined) return hostile(`${volume}: entry ${JSON.stringify(name)} ${pathBad}`);
  if (!HANDLED_TYPES.has(type)) return hostile(`${volume}: entry ${name} is a ${type}, not a file or link`);
  if (type === 'file' && (h.mode & 0o7000) !== 0) {
    return hostile(`${volume}: entry ${name} has mode ${h.mode.toString(8)} (setuid/setgid/sticky)`);
  }
  if (type !== 'file') {
    const kind = type === 'link' ? 'hardlink' : 'symlink';
    const bad = linkProblem(kind, name, h.linkname);
    if (bad !== undefined) return hostile(`${volume}: entry ${name}: ${bad}`);
    if (kind === 'hardlink' && !state.seenFiles.has(h.linkname)) {
      return hostile(
        `${volume}: hard link ${name} points to ${h.linkname}, which is not earlier in this volume`,
      );
    }
  }
  return undefined;
}

/** A safe entry that is not what bundle.json says this volume holds. */
function indexMismatchProblem(h: tar.Header, state: EntryCheckState): EntryProblem | undefined {
  const { volume } = state;
  const name = h.name;
  const type = h.type as string;
  const invalid = (message: string): EntryProblem => ({ code: 'E_BUNDLE_INVALID', entry: name, message });
  if (state.seen.has(name)) return invalid(`${volume}: entry ${name} appears more than once`);
  const exp = state.expected.get(name);
  if (exp === undefined) {
    const other = state.locate?.(name);
    return invalid(
      other === undefined
        ? `${volume}: entry ${name} is not in bundle.json`
        : `${volume}: entry ${name} belongs in ${other} according to bundle.json`,
    );
  }
  const indexType = exp.type === 'hardlink' ? 'link' : exp.type;
  if (indexType !== type)
    return invalid(`${volume}: entry ${name} is a ${type}, bundle.json says ${exp.type}`);
  if (type !== 'file' && h.linkname !== exp.linkTarget) {
    return invalid(`${volume}: link ${name} points to ${h.linkname}, bundle.json says ${exp.linkTarget}`);
  }
  const size = h.size;
  if (type === 'file' && size !== exp.size) {
    const larger = size > exp.size;
    return {
      code: 'E_SIZE_MISMATCH',
      entry: name,
      // Never read the body of an entry larger than the index says.
      ...(larger ? { fatal: true } : {}),
      ...digestOf(exp),
      message:
        `${volume}: entry ${name} is ${size} bytes, bundle.json says ${exp.size}` +
        (larger ? '; stopped reading this volume' : ''),
    };
  }
  return undefined;
}
