/**
 * The layering rule in eslint.config.js (run by `npm test` through `npm run lint`)
 * refuses a building block that imports a workflow or the CLI. Checked on probe text
 * so the rule itself is known to bite, not just to be configured.
 */
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function lint(file: string, text: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(text, { filePath: `${ROOT}/${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering rule', () => {
  it('refuses a building block importing a workflow or the CLI', async () => {
    const w = await lint(
      'src/bundle/probe.ts',
      "import { verifyBundle } from '../workflows/verify.js';\nvoid verifyBundle;\n",
    );
    expect(w.join('\n')).toMatch(/must not import a workflow or the CLI/);
    const c = await lint('src/registry/probe.ts', "import { main } from '../cli/main.js';\nvoid main;\n");
    expect(c.join('\n')).toMatch(/must not import a workflow or the CLI/);
  });

  it('lets building blocks import each other and the CLI import workflows', async () => {
    expect(
      await lint(
        'src/bundle/probe.ts',
        "import { parseReference } from '../registry/reference.js';\nvoid parseReference;\n",
      ),
    ).toEqual([]);
    expect(
      await lint(
        'src/cli/probe.ts',
        "import { verifyBundle } from '../workflows/verify.js';\nvoid verifyBundle;\n",
      ),
    ).toEqual([]);
  });
});
