/** What a test registry's access log says was written to it. */
import { readFile } from 'node:fs/promises';
import type { TestRegistry } from './registry.js';

/** The access-log lines of requests that write (POST, PUT, PATCH, DELETE under /v2/). */
export async function registryWrites(reg: TestRegistry): Promise<string[]> {
  const log = await readFile(reg.logFile, 'utf8');
  return log.split('\n').filter((l) => /"(POST|PUT|PATCH|DELETE) \/v2\//.test(l));
}
