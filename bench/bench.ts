/**
 * `npm run bench`: bale against skopeo and the tar|zstd bound on a synthetic release
 * (issue 7). See docs/benchmark.md for the method and the results on the dev machines.
 *
 *   npm run build && npm run bench -- --size 256MiB,1GiB --reps 3
 *
 * Options (also as env BENCH_SIZE, BENCH_REPS ...):
 *   --size LIST         incompressible layer bytes per run, comma separated (default 1GiB)
 *   --large-blob SIZE   one extra uncompressed layer of this size (default size/4; 0 = none)
 *   --compressible SIZE one extra image with a plain-tar text layer (default size/8; 0 = none)
 *   --components N      release components (default 8)
 *   --reps N            repetitions per command, alternating order (default 3)
 *   --only LIST         pack,verify,unpack (default all)
 *   --profile           also run pack, verify and unpack once under `node --cpu-prof` and summarise
 *   --work DIR          scratch directory (default: a new one under the OS temp dir)
 *   --out FILE          JSON results (default bench/results/<date>-<sizes>.json)
 *   --pack-args "ARGS"  extra arguments for bale pack (e.g. "--concurrency 1")
 *   --keep              keep the scratch directory
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fmtBytes, parseArgs } from './bench-args.js';
import { formatGrowth, formatTable } from './bench-report.js';
import type { SizeResult } from './bench-results.js';
import { benchSize } from './bench-size.js';
import { ROOT } from './bench-tools.js';
import { haveGnuTime, run } from './measure.js';
import { REGISTRY_BINARY } from '../fixtures/registry-process.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  if (!(await haveGnuTime()))
    throw new Error('the benchmark needs GNU time at /usr/bin/time (apt-get install time)');
  for (const [cmd, flagArg] of [
    ['skopeo', '--version'],
    ['zstd', '--version'],
    ['sha256sum', '--version'],
    [REGISTRY_BINARY, '--version'],
  ] as const) {
    await run(cmd, [flagArg]).catch((err: Error) => {
      throw new Error(`the benchmark needs ${cmd}: ${err.message}`);
    });
  }
  const work = args.work ? resolve(args.work) : await mkdtemp(join(tmpdir(), 'bale-bench-'));
  await mkdir(work, { recursive: true });
  const started = new Date();
  const results: SizeResult[] = [];
  try {
    for (const size of args.sizes) {
      const r = await benchSize(args, size, work);
      results.push(r);
      process.stdout.write(`\n${formatTable(r)}\n`);
    }
  } finally {
    if (!args.keep && !args.work) await rm(work, { recursive: true, force: true });
  }
  const growth = formatGrowth(results);
  if (growth) process.stdout.write(`\n${growth}\n`);

  const versions = async (cmd: string, a: string): Promise<string> =>
    (await run(cmd, [a]).catch(() => '')).split('\n')[0]?.trim() ?? '';
  const json = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      node: process.version,
      skopeo: await versions('skopeo', '--version'),
      zstd: await versions('zstd', '--version'),
      loadavgAtEnd: loadavg(),
    },
    // No machine paths in results that may be committed: only the file name of --out.
    args: {
      ...args,
      only: [...args.only],
      out: args.out === undefined ? undefined : basename(args.out),
      work: undefined,
    },
    results,
  };
  const out =
    args.out ??
    join(
      ROOT,
      'bench',
      'results',
      `${started.toISOString().slice(0, 16).replace(/[:T]/g, '')}-${args.sizes.map(fmtBytes).join('_').replace(/\s+/g, '')}.json`,
    );
  await mkdir(dirname(out), { recursive: true });
  // Formatted as prettier would (a devDependency), so results can be committed past `npm run lint`.
  // Profile files live in the (temporary) work directory: keep only their names.
  let text = `${JSON.stringify(json, (key, value: unknown) => (key === 'file' && typeof value === 'string' ? basename(value) : value), 2)}\n`;
  const prettier = await import('prettier').catch(() => undefined);
  if (prettier) text = await prettier.format(text, { parser: 'json' });
  await writeFile(out, text);
  process.stdout.write(`\nJSON: ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
