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
  it('refuses a workflow importing another workflow or the CLI, and lets it import building blocks', async () => {
    const other = await lint(
      'src/workflows/mirror/probe.ts',
      "import { plan } from '../plan/index.js';\nvoid plan;\n",
    );
    expect(other.join('\n')).toMatch(/must not import another workflow/);
    const up = await lint(
      'src/workflows/pack/probe.ts',
      "import { unpack } from '../../workflows/unpack/index.js';\nvoid unpack;\n",
    );
    expect(up.join('\n')).toMatch(/must not import another workflow/);
    const cli = await lint(
      'src/workflows/pack/probe.ts',
      "import { main } from '../../cli/main.js';\nvoid main;\n",
    );
    expect(cli.join('\n')).toMatch(/must not import another workflow or the CLI/);
    expect(
      await lint(
        'src/workflows/mirror/probe.ts',
        "import { planImages } from '../../sets/plan-images.js';\nimport { copy } from './copy-images.js';\nvoid planImages;\nvoid copy;\n",
      ),
    ).toEqual([]);
  });
});
