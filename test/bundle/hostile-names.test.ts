/**
 * Whatever sits at a bundle's file names (a FIFO nobody writes to, a link to /dev/zero,
 * a directory), verify answers at once with a problem naming the file: it never blocks
 * on a FIFO nor reads a device without end.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { removeDir } from '../../fixtures/hostile/damage.js';
import { buildValidBundle, makeSigningKey, type ValidBundle } from '../../fixtures/hostile/valid-bundle.js';
import { verifyBundle } from '../../src/bundle/verify-bundle.js';

const run = promisify(execFile);
let root: string;
let pristine: ValidBundle;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-names-'));
  pristine = await buildValidBundle(join(root, 'pristine'), await makeSigningKey());
}, 60_000);
afterAll(async () => {
  await removeDir(root);
});

async function withAt(name: string, make: (path: string) => Promise<void>): Promise<string> {
  const dir = join(root, `copy-${++n}`);
  await cp(pristine.dir, dir, { recursive: true });
  await rm(join(dir, name), { force: true });
  await make(join(dir, name));
  return dir;
}

const fifo = async (path: string): Promise<void> => {
  await run('mkfifo', [path]);
};
const devZero = async (path: string): Promise<void> => {
  await symlink('/dev/zero', path);
};

describe('verify on odd things at the bundle file names', () => {
  for (const name of ['bundle.json', 'SHA256SUMS', 'bundle.json.asc']) {
    for (const [what, make] of [
      ['a FIFO', fifo],
      ['a symlink to /dev/zero', devZero],
    ] as const) {
      test(`${what} at ${name}: a problem naming it, within seconds`, async () => {
        const dir = await withAt(name, make);
        const started = Date.now();
        const report = await verifyBundle(dir, { keyrings: [] });
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(report.ok).toBe(false);
        expect(report.problems.some((p) => p.file === name || p.message.includes(name))).toBe(true);
      });
    }
  }
});
