import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const found = new Map<string, string>();

/**
 * A file shipped with bale (`keys/…`), found by walking up from this module, so it
 * works from src/ (tests) and from dist/src/ (the built package). Undefined when the
 * installation lacks it; callers say which option replaces it.
 */
export function shippedFile(relative: string): string | undefined {
  const cached = found.get(relative);
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) {
      found.set(relative, candidate);
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
