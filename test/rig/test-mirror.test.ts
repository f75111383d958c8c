/**
 * Tests mirror src/ (issue 13): every building-block module `src/a/b.ts` has its own
 * test `test/a/b.test.ts` (or a folder `test/a/b/`); every workflow `src/workflows/<cmd>/`
 * has its folder of tests `test/workflows/<cmd>/`, whose tests drive the coordinator and
 * its phases, and so does the command that runs it (`src/cli/commands/<cmd>.ts`: its
 * tests run `bale <cmd>` beside the workflow's; the command list is tested by
 * `test/cli/help.test.ts`). Files with no behaviour of their own need no test and are
 * recognised from their text, not from a list: a barrel (only `export … from`) and a
 * file of types only. The failure names each file and the test path to create.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(dir, r)).isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

/** Source text without comments (good enough for the statement shapes below). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Statements of the file, split at top-level semicolons (imports and exports end with one). */
function statements(text: string): string[] {
  return code(text)
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Only `export … from '…'` (and type imports): nothing of its own to test. */
export function isBarrel(text: string): boolean {
  const st = statements(text);
  return (
    st.length > 0 &&
    st.every((s) => /^export\s[\s\S]*\sfrom\s+['"][^'"]+['"]$/.test(s) || /^import\s+type\s/.test(s))
  );
}

/** Only type declarations (interfaces, type aliases, type imports and re-exports). */
export function isTypesOnly(text: string): boolean {
  const c = code(text);
  const withoutTypes = c
    .replace(/^(export\s+)?interface\s+\w+(<[^>]*>)?(\s+extends\s+[^{]+)?\s*\{[\s\S]*?^\}/gm, '')
    .replace(/^(export\s+)?type\s+\w+(<[^>]*>)?\s*=[\s\S]*?;\s*$/gm, '')
    .replace(/^import\s+type\s[\s\S]*?;\s*$/gm, '')
    .replace(/^export\s+type\s+\{[^}]*\}(\s+from\s+['"][^'"]+['"])?;\s*$/gm, '');
  return c.trim() !== '' && withoutTypes.trim() === '';
}

/** A test file that exists and declares at least one test. */
function hasTests(file: string): boolean {
  if (!existsSync(join(ROOT, file))) return false;
  return /\b(it|test)(\.each\([^)]*\))?\(\s*['"`]/.test(readFileSync(join(ROOT, file), 'utf8'));
}

/** Test files under a folder of test/. */
function testsUnder(dir: string): string[] {
  return existsSync(join(ROOT, dir))
    ? walk(join(ROOT, dir))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `${dir}/${f}`)
    : [];
}

describe('tests mirror src/', () => {
  const sources = walk(join(ROOT, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/${f}`);

  it('recognises barrels and type-only files from their text', () => {
    expect(isBarrel("export { a } from './a.js';\nexport * from './b.js';\n")).toBe(true);
    expect(isBarrel("export { a } from './a.js';\nexport const b = 1;\n")).toBe(false);
    expect(
      isTypesOnly(
        "import type { A } from './a.js';\nexport interface B {\n  a: A;\n}\nexport type C = B | string;\n",
      ),
    ).toBe(true);
    expect(isTypesOnly('export interface B {\n  a: number;\n}\nexport function f(): void {}\n')).toBe(false);
  });

  it('every workflow has its folder of tests', () => {
    const workflows = [
      ...new Set(sources.filter((f) => f.startsWith('src/workflows/')).map((f) => f.split('/')[2] as string)),
    ];
    const missing = workflows.filter((w) => testsUnder(`test/workflows/${w}`).length === 0);
    expect(missing.map((w) => `src/workflows/${w}/ has no tests: add test/workflows/${w}/*.test.ts`)).toEqual(
      [],
    );
  });

  it('every building-block module has a test at its mirrored path', () => {
    const problems: string[] = [];
    for (const file of sources) {
      if (file.startsWith('src/workflows/')) continue; // covered by the workflow's folder (above)
      const text = readFileSync(join(ROOT, file), 'utf8');
      if (isBarrel(text) || isTypesOnly(text)) continue;
      const command = /^src\/cli\/commands\/([\w-]+)\.ts$/.exec(file)?.[1];
      if (command === 'index' && hasTests('test/cli/help.test.ts')) continue;
      if (command !== undefined && testsUnder(`test/workflows/${command}`).some(hasTests)) continue;
      const base = `test/${file.slice('src/'.length).replace(/\.ts$/, '')}`;
      if ([`${base}.test.ts`, ...testsUnder(base)].some(hasTests)) continue;
      problems.push(`${file}: add ${base}.test.ts`);
    }
    expect(problems).toEqual([]);
  });
});
