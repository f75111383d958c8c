/** Files shipped with bale (keys/…) are found by walking up from the module, from src/ and dist/src/ alike. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { shippedFile } from '../src/shipped-file.js';

const CHECKOUT = dirname(dirname(fileURLToPath(import.meta.url)));

describe('shippedFile', () => {
  it('finds the shipped Red Hat release key at the top of the checkout', () => {
    const path = shippedFile('keys/redhat-release-key-2.asc');
    expect(path).toBe(join(CHECKOUT, 'keys', 'redhat-release-key-2.asc'));
    expect(readFileSync(path ?? '', 'utf8')).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('finds package.json the same way, and gives the same answer twice', () => {
    expect(shippedFile('package.json')).toBe(join(CHECKOUT, 'package.json'));
    expect(shippedFile('package.json')).toBe(shippedFile('package.json'));
  });

  it('is undefined for a file the installation lacks (walking up to the root)', () => {
    const missing = `keys/not-shipped-${process.pid}.asc`;
    expect(existsSync(join(CHECKOUT, missing))).toBe(false);
    expect(shippedFile(missing)).toBeUndefined();
  });
});
