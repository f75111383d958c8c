import { BALE_VERSION } from '../version.js';

/** Entry point called by bin/bale. Placeholder until the commands land. */
export function main(argv: string[]): void {
  if (argv.includes('--version')) {
    process.stdout.write(`${BALE_VERSION}\n`);
    return;
  }
  process.stderr.write('bale: no command given\n');
  process.exitCode = 2;
}
