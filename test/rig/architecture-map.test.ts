/**
 * docs/architecture.md stays true: its module map lists every file under src/ once,
 * under the heading of its folder, with a line saying what it is; and every `src/…`
 * path the document names exists. The failure message says exactly which line to add
 * or remove, so whoever adds a module can fix the map from the test output alone.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = 'docs/architecture.md';
const MAP_HEADING = '## Module map';

/** A line of the map: "- `src/x/y.ts` — what it is." */
const ENTRY = /^- `(src\/[^`]+)` — (.*)$/;
/** A folder heading of the map: "### `src/x/`". */
const FOLDER = /^### `(src\/(?:[^`]+\/)?)`$/;

export interface MapEntry {
  file: string;
  folder: string | undefined;
  what: string;
  line: number;
}

export interface ParsedMap {
  entries: MapEntry[];
  folders: Map<string, number>;
  /** Lines in the map section that look like entries but are not well formed. */
  malformed: { line: number; text: string }[];
  found: boolean;
}

export function parseMap(doc: string): ParsedMap {
  const lines = doc.split('\n');
  const out: ParsedMap = { entries: [], folders: new Map(), malformed: [], found: false };
  let inMap = false;
  let folder: string | undefined;
  lines.forEach((text, i) => {
    if (text.startsWith('## ')) {
      inMap = text.trim() === MAP_HEADING;
      out.found ||= inMap;
      folder = undefined;
      return;
    }
    if (!inMap) return;
    const f = FOLDER.exec(text);
    if (f) {
      folder = f[1];
      out.folders.set(folder as string, i + 1);
      return;
    }
    const e = ENTRY.exec(text);
    if (e) {
      out.entries.push({ file: e[1] as string, folder, what: (e[2] as string).trim(), line: i + 1 });
    } else if (/^- `?src\//.test(text)) {
      out.malformed.push({ line: i + 1, text });
    }
  });
  return out;
}

/** What is wrong with the map, as instructions to fix it (empty when it is true). */
export function mapFindings(doc: string, files: readonly string[], exists: (p: string) => boolean): string[] {
  const map = parseMap(doc);
  if (!map.found) return [`${DOC}: add a section "${MAP_HEADING}" listing every file under src/`];
  const out: string[] = [];
  for (const m of map.malformed) {
    out.push(`${DOC}:${m.line}: write this line as "- \`src/<path>.ts\` — <what it is>", not: ${m.text}`);
  }
  const listed = new Map<string, MapEntry>();
  for (const e of map.entries) {
    const dir = `${posix.dirname(e.file)}/`;
    if (listed.has(e.file)) out.push(`${DOC}:${e.line}: remove this second line for ${e.file}`);
    listed.set(e.file, e);
    if (!exists(e.file)) out.push(`${DOC}:${e.line}: remove the line for ${e.file}: there is no such file`);
    if (e.what.length < 10) out.push(`${DOC}:${e.line}: say in a line what ${e.file} is (after the " — ")`);
    if (e.folder !== dir) {
      out.push(`${DOC}:${e.line}: move the line for ${e.file} under the heading "### \`${dir}\`"`);
    }
  }
  for (const file of files) {
    if (listed.has(file)) continue;
    const dir = `${posix.dirname(file)}/`;
    const at = map.folders.get(dir);
    const where =
      at === undefined
        ? `under a new heading "### \`${dir}\`" in "${MAP_HEADING}"`
        : `under "### \`${dir}\`" (line ${at})`;
    out.push(`${DOC}: add ${where} the line:\n    - \`${file}\` — <one line: what it is>`);
  }
  // Any other src/ path the document names must exist too (a file or a folder).
  doc.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/(?<![\w./-])src\/[\w./-]*[\w/]/g)) {
      const p = m[0];
      if (!exists(p)) out.push(`${DOC}:${i + 1}: ${p} does not exist: correct or remove it`);
    }
  });
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${d.name}`;
    if (d.isDirectory()) out.push(...sourceFiles(rel));
    else if (d.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort();
}

describe('docs/architecture.md module map', () => {
  it('lists every file under src/, each once under its folder, and names nothing that does not exist', () => {
    const doc = readFileSync(join(ROOT, DOC), 'utf8');
    const files = sourceFiles('src');
    expect(files.length).toBeGreaterThan(100);
    const findings = mapFindings(doc, files, (p) => existsSync(join(ROOT, p)));
    expect(findings, `\n${findings.join('\n')}\n`).toEqual([]);
  });

  describe('the check itself', () => {
    const doc = [
      '# x',
      'The reader lives in `src/bundle/volume-reader.ts`.',
      MAP_HEADING,
      '### `src/`',
      '- `src/errors.ts` — BaleError and the codes.',
      '### `src/bundle/`',
      '- `src/bundle/volume-reader.ts` — reads a volume without trusting it.',
      '## Next',
    ].join('\n');
    const real = new Set(['src/errors.ts', 'src/bundle/volume-reader.ts', 'src/bundle/', 'src/']);
    const exists = (p: string): boolean => real.has(p) || real.has(`${p}/`);

    it('is silent for a true map', () => {
      expect(mapFindings(doc, ['src/bundle/volume-reader.ts', 'src/errors.ts'], exists)).toEqual([]);
    });

    it('names the exact line to add for a new module, under its folder heading', () => {
      const files = [
        'src/bundle/lock.ts',
        'src/bundle/volume-reader.ts',
        'src/errors.ts',
        'src/new/thing.ts',
      ];
      expect(mapFindings(doc, files, (p) => exists(p) || files.includes(p))).toEqual([
        `${DOC}: add under "### \`src/bundle/\`" (line 6) the line:\n    - \`src/bundle/lock.ts\` — <one line: what it is>`,
        `${DOC}: add under a new heading "### \`src/new/\`" in "${MAP_HEADING}" the line:\n    - \`src/new/thing.ts\` — <one line: what it is>`,
      ]);
    });

    it('names the line to remove for a file that is gone, and a stale path in the prose', () => {
      const stale = doc.replace('`src/bundle/volume-reader.ts`.', '`src/layout/dir-writer.ts`.');
      expect(mapFindings(stale, ['src/errors.ts'], (p) => p === 'src/errors.ts' || p === 'src/')).toEqual([
        `${DOC}:7: remove the line for src/bundle/volume-reader.ts: there is no such file`,
        `${DOC}:2: src/layout/dir-writer.ts does not exist: correct or remove it`,
        `${DOC}:6: src/bundle/ does not exist: correct or remove it`,
        `${DOC}:7: src/bundle/volume-reader.ts does not exist: correct or remove it`,
      ]);
    });

    it('refuses a line under the wrong folder, a duplicate, an empty description and a malformed line', () => {
      const bad = doc
        .replace('### `src/bundle/`', '### `src/bundle/`\n- `src/errors.ts` — BaleError again, twice.')
        .replace('reads a volume without trusting it.', '')
        .replace('## Next', '- src/bundle/x.ts: no backticks\n## Next');
      const findings = mapFindings(bad, ['src/bundle/volume-reader.ts', 'src/errors.ts'], exists);
      expect(findings).toEqual([
        `${DOC}:9: write this line as "- \`src/<path>.ts\` — <what it is>", not: - src/bundle/x.ts: no backticks`,
        `${DOC}:7: remove this second line for src/errors.ts`,
        `${DOC}:7: move the line for src/errors.ts under the heading "### \`src/\`"`,
        `${DOC}:8: say in a line what src/bundle/volume-reader.ts is (after the " — ")`,
        `${DOC}:9: src/bundle/x.ts does not exist: correct or remove it`,
      ]);
    });

    it('asks for the section when there is none', () => {
      expect(mapFindings('# x\n', ['src/errors.ts'], exists)).toEqual([
        `${DOC}: add a section "${MAP_HEADING}" listing every file under src/`,
      ]);
    });
  });
});
