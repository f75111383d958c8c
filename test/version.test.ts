/** BALE_VERSION is package.json's version (what --version prints and bundle.json records). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BALE_VERSION } from '../src/version.js';

describe('BALE_VERSION', () => {
  it('is the version in the package.json of this checkout, a semantic version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(pkg.name).toBe('bale');
    expect(BALE_VERSION).toBe(pkg.version);
    expect(BALE_VERSION).toMatch(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
    expect(BALE_VERSION).not.toBe('0.0.0');
  });
});
