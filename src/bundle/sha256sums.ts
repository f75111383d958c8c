import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { readSmallRegularFile } from './small-file.js';
import { writeFileAtomic } from './atomic-write.js';
import { readFileChunks } from './file-chunks.js';

/**
 * SHA256SUMS in coreutils format: one `<64 hex>  <name>` line per file (two spaces,
 * text mode), sorted by name, covering bundle.json and every volume, so that
 * `sha256sum -c SHA256SUMS` checks a bundle with no bale at hand.
 */
export const SUMS_FILE = 'SHA256SUMS';
const MAX_SUMS_BYTES = 1024 * 1024;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface SumLine {
  name: string;
  sha256: string;
}

export function formatSha256Sums(lines: readonly SumLine[]): string {
  const sorted = [...lines].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.map((l) => `${l.sha256}  ${l.name}\n`).join('');
}

export async function writeSha256Sums(dir: string, lines: readonly SumLine[]): Promise<void> {
  await writeFileAtomic(join(dir, SUMS_FILE), formatSha256Sums(lines));
}

/**
 * Parses SHA256SUMS strictly: each line `<64 hex>` + two spaces (or space + `*`) +
 * a plain file name (no path, no escapes). Returns the lines and the reasons for any
 * line rejected.
 */
export function parseSha256Sums(text: string): { lines: SumLine[]; problems: string[] } {
  const lines: SumLine[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      problems.push(`line ${i + 1} is not "<sha256>  <name>"`);
      return;
    }
    const name = m[2] ?? '';
    if (!SAFE_NAME.test(name)) {
      problems.push(`line ${i + 1} names ${JSON.stringify(name)}, not a plain file name`);
      return;
    }
    if (seen.has(name)) {
      problems.push(`line ${i + 1} lists ${name} a second time`);
      return;
    }
    seen.add(name);
    lines.push({ name, sha256: m[1] ?? '' });
  });
  return { lines, problems };
}

export async function readSha256Sums(dir: string): Promise<{ lines: SumLine[]; problems: string[] }> {
  const path = join(dir, SUMS_FILE);
  let raw: Buffer;
  try {
    // One read past the cap is enough to tell it is too large; a FIFO or device is refused at once.
    raw = await readSmallRegularFile(path, MAX_SUMS_BYTES + 1, SUMS_FILE);
  } catch (err) {
    if (isBaleError(err)) throw err;
    const code = (err as { code?: string }).code;
    throw new BaleError(
      code === 'ENOENT' ? 'E_BUNDLE_INCOMPLETE' : 'E_IO',
      `cannot read ${path}: ${messageOf(err)}`,
      {
        details: { file: SUMS_FILE },
      },
    );
  }
  if (raw.length > MAX_SUMS_BYTES) {
    return { lines: [], problems: [`${SUMS_FILE} is ${raw.length} bytes, more than ${MAX_SUMS_BYTES}`] };
  }
  return parseSha256Sums(raw.toString('utf8'));
}

/** Size and sha256 hex of a file, streamed. */
export async function hashFile(
  path: string,
  onBytes?: (n: number) => void,
): Promise<{ size: number; sha256: string }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of readFileChunks(path)) {
    h.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
  }
  return { size, sha256: h.digest('hex') };
}
