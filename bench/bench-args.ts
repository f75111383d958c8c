/** `npm run bench` options: command line, else env BENCH_<NAME> (see bench.ts). */

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export type Op = 'pack' | 'verify' | 'unpack';

export interface Args {
  sizes: number[];
  largeBlob?: number;
  compressible?: number;
  components: number;
  reps: number;
  only: Set<Op>;
  profile: boolean;
  work?: string;
  out?: string;
  keep: boolean;
  seed: number;
  /** Extra arguments for every bale pack (e.g. --concurrency 1). */
  packExtra: string[];
}

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: ${text} (try 256MiB or 1GiB)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('g') ? GiB : unit.startsWith('m') ? MiB : unit.startsWith('k') ? 1024 : 1;
  return Math.round(n * mult);
}

export function parseArgs(argv: string[], env: Record<string, string | undefined>): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    if (eq) return eq.slice(name.length + 3);
    return env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const flag = (name: string): boolean =>
    argv.includes(`--${name}`) || env[`BENCH_${name.toUpperCase()}`] === '1';
  const sizes = (get('size') ?? '1GiB').split(',').map(parseSize);
  const only = new Set((get('only') ?? 'pack,verify,unpack').split(',') as Op[]);
  const lb = get('large-blob');
  const cb = get('compressible');
  return {
    sizes,
    largeBlob: lb === undefined ? undefined : parseSize(lb),
    compressible: cb === undefined ? undefined : parseSize(cb),
    components: Number(get('components') ?? 8),
    reps: Math.max(1, Number(get('reps') ?? 3)),
    only,
    profile: flag('profile'),
    work: get('work'),
    out: get('out'),
    keep: flag('keep'),
    seed: Number(get('seed') ?? 7),
    packExtra: (get('pack-args') ?? '').split(' ').filter((a) => a !== ''),
  };
}

export function fmtBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(0)} MiB`;
}

export function log(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}
