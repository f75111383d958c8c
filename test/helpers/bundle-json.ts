/**
 * bundle.json as written, parsed as plain JSON (no validation): what tests look into.
 * Code under test opens bundles with `openBundle`; a test reading the file directly sees
 * exactly what is on the media, even when it is deliberately invalid.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleIndex } from '../../src/bundle/index-schema.js';

export async function readBundleJson(dir: string): Promise<BundleIndex> {
  return JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as BundleIndex;
}
