/**
 * A fresh clone tests itself with nothing beside it: no tracked file that runs (tests,
 * fixtures, bench, sources, CI, configuration) names a path outside the checkout, and
 * the real data the tests read is in fixtures/data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REALDATA_DIR } from '../helpers/fixture-data.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Built from parts so that this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['', 'work', ''].join('/')];

describe('self-contained checkout', () => {
  it('no tracked code or configuration file reaches outside the checkout', () => {
    const files = execFileSync(
      'git',
      ['ls-files', 'src', 'test', 'fixtures', 'bench', 'bin', '.ci', '*.json', '*.ts', '*.js'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((f) => /\.(ts|js|mjs|json|sh)$|^\.ci\/run$|^bin\//.test(f) && !f.endsWith('package-lock.json'));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => {
      const text = readFileSync(`${ROOT}/${f}`, 'utf8');
      return OUTSIDE.some((p) => text.includes(p));
    });
    expect(offenders).toEqual([]);
  });

  it('the genuine signatures, keys and graph-data tree are inside the checkout', () => {
    expect(REALDATA_DIR.startsWith(ROOT.replace(/\/$/, ''))).toBe(true);
    for (const f of [
      'release-signatures/redhat.txt',
      'release-signatures/simple.txt',
      'release-signatures/combined.txt',
      'cincinnati-graph-data.tar.gz',
      'README.md',
    ]) {
      expect(existsSync(`${REALDATA_DIR}/${f}`), f).toBe(true);
    }
  });
});
