/**
 * Runs once before any test file: the tests need the real distribution registry,
 * skopeo, zstd and openssl. As root with apt-get they are installed the way the demo
 * does it; otherwise the run stops at once with the exact install command, instead of
 * failing test by test.
 */
import { TEST_TOOLS, ensureTools } from '../fixtures/system-tools.js';

export default function setup(): void {
  const { missing, command } = ensureTools(TEST_TOOLS, {
    log: (line) => process.stderr.write(`test set-up: ${line}\n`),
    stdio: 'ignore',
  });
  if (missing.length > 0) {
    throw new Error(
      `The tests need ${missing.map((t) => t.command).join(', ')}, which this machine lacks. ` +
        `Install them, then run npm test again:\n    ${command}`,
    );
  }
}
