/**
 * The size rules in eslint.config.js (run by `npm test` through `npm run lint`): no
 * function over 120 lines and no file over 400 under src/, bench/, fixtures/ and bin/
 * (issue 13), not under test/. Checked on probe text at the edge of each limit, so the
 * rules are known to bite where they should and only there.
 */
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SIZE_RULES = new Set(['max-lines-per-function', 'max-lines']);

async function lint(file: string, text: string): Promise<{ rule: string; message: string }[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(text, { filePath: `${ROOT}/${file}` });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && SIZE_RULES.has(m.ruleId))
    .map((m) => ({ rule: m.ruleId as string, message: m.message }));
}

/** A function whose body has `lines` statements: `lines + 2` lines counted with its braces. */
function functionOf(lines: number, name = 'probe'): string {
  const body = Array.from({ length: lines }, (_, i) => `  n += ${i};`).join('\n');
  return `export function ${name}(): number {\n  let n = 0;\n${body}\n  return n;\n}\n`;
}

/** A file of exactly `lines` lines (each a statement). */
function fileOf(lines: number): string {
  return `${Array.from({ length: lines }, (_, i) => `export const v${i} = ${i};`).join('\n')}\n`;
}

describe('size limits', () => {
  it('refuses a function of 121 lines and accepts one of 120, blank lines and comments not counted', async () => {
    // functionOf(n) spans n + 4 lines: signature, `let`, n statements, `return`, `}`.
    const long = await lint('src/bundle/probe.ts', functionOf(117));
    expect(long).toEqual([
      {
        rule: 'max-lines-per-function',
        message: expect.stringMatching(/'probe' has too many lines \(121\)\. Maximum allowed is 120/),
      },
    ]);
    expect(await lint('src/bundle/probe.ts', functionOf(116))).toEqual([]);
    const padded = functionOf(116).replace('  let n = 0;\n', '  let n = 0;\n\n  // a comment\n\n');
    expect(await lint('src/bundle/probe.ts', padded)).toEqual([]);
  });

  it('counts an immediately invoked function as a function of its own', async () => {
    const iife = `export const x = (() => {\n  let n = 0;\n${Array.from({ length: 120 }, (_, i) => `  n += ${i};`).join('\n')}\n  return n;\n})();\n`;
    const found = await lint('src/bundle/probe.ts', iife);
    expect(found.map((f) => f.rule)).toEqual(['max-lines-per-function']);
  });

  it('refuses a file of 401 lines and accepts one of 400', async () => {
    expect(await lint('src/cli/probe.ts', fileOf(401))).toEqual([
      { rule: 'max-lines', message: 'File has too many lines (401). Maximum allowed is 400.' },
    ]);
    expect(await lint('src/cli/probe.ts', fileOf(400))).toEqual([]);
  });

  it('holds in bench/, fixtures/ and bin/ too, and not in test/', async () => {
    for (const file of ['bench/probe.ts', 'fixtures/probe.ts', 'fixtures/hostile/probe.ts', 'bin/bale']) {
      const found = await lint(file, fileOf(401) + functionOf(130));
      expect(found.map((f) => f.rule).sort(), file).toEqual(['max-lines', 'max-lines-per-function']);
    }
    expect(await lint('test/bundle/probe.test.ts', fileOf(401) + functionOf(130))).toEqual([]);
  });
});
