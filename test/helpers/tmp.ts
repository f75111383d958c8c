/**
 * Temporary directories and free ports for tests. Every directory made here is removed
 * when the process exits, even when a test crashed before its own cleanup ran; the
 * same exit hook runs the synchronous cleanups other helpers register (killing child
 * processes such as test registries).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tempDirs = new Set<string>();
const exitHooks = new Set<() => void>();
let installed = false;

function installExitHook(): void {
  if (installed) return;
  installed = true;
  const runAll = (): void => {
    for (const hook of [...exitHooks]) {
      try {
        hook();
      } catch {
        // best effort at exit
      }
    }
    exitHooks.clear();
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
    tempDirs.clear();
  };
  process.once('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers a synchronous cleanup to run at process exit (and on SIGINT/SIGTERM/SIGHUP).
 * Returns a function that unregisters it, to call once the normal cleanup has run.
 */
export function onProcessExit(hook: () => void): () => void {
  installExitHook();
  exitHooks.add(hook);
  return () => {
    exitHooks.delete(hook);
  };
}

/** Makes a fresh directory under the OS temp dir, removed at process exit unless removed earlier. */
export async function makeTempDir(prefix = 'bale-test-'): Promise<string> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Synchronous variant of makeTempDir. */
export function makeTempDirSync(prefix = 'bale-test-'): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), prefix.endsWith('-') ? prefix : `${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir now (idempotent). */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** The one free-port helper (shared with the demo and the benchmark). */
export { freePort } from '../../fixtures/free-port.js';
