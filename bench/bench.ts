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
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProfile, summariseProfile, type ProfileSummary } from './cpu-profile.js';
import { haveGnuTime, median, processCpuSeconds, run, timed, type Sample } from './measure.js';
import { startRegistryProcess } from '../fixtures/registry-process.js';
import { buildSource, type SourceRelease } from './source-release.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root: dist/bench/bench.js → ../.. */
const ROOT = resolve(HERE, '..', '..');
const BALE_BIN = join(ROOT, 'bin', 'bale');

type Op = 'pack' | 'verify' | 'unpack';
type Tool =
  | 'bale pack'
  | 'skopeo sync → dir'
  | 'tar | zstd -1 (bound)'
  | 'bale verify'
  | 'sha256sum volumes'
  | 'bale unpack --to'
  | 'bale unpack --to (two passes)'
  | 'skopeo sync dir → docker';

interface ToolSample extends Sample {
  rep: number;
  order: number;
  /** CPU seconds the registry serving or receiving the data used meanwhile. */
  registryCpuS?: number;
  load1: number;
  /** bale's own count of HTTP retries (from its --json output). */
  retries?: number;
}

interface ToolResult {
  op: Op;
  tool: Tool;
  bytes: number;
  samples: ToolSample[];
  median: {
    wallS: number;
    cpuS: number;
    userS: number;
    sysS: number;
    maxRssMiB: number;
    registryCpuS?: number;
  };
  min: number;
  max: number;
  mibPerS: number;
}

interface SizeResult {
  label: string;
  incompressibleBytes: number;
  largeBlobBytes: number;
  compressibleBytes: number;
  components: number;
  sourceBlobBytes: number;
  sourceBlobs: number;
  bundleBytes: number;
  volumes: number;
  images: number;
  setupS: number;
  tools: ToolResult[];
  ratios: Record<string, number>;
  profiles?: Record<string, ProfileSummary>;
}

interface Args {
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

function parseArgs(argv: string[]): Args {
  const env = process.env;
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

function fmtBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(0)} MiB`;
}

function log(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Retries bale reports in its --json result (pack: stats.retries, unpack: push.retries). */
function baleRetries(stdout: string | undefined): number | undefined {
  if (!stdout?.trim().startsWith('{')) return undefined;
  try {
    const j = JSON.parse(stdout) as { stats?: { retries?: number }; push?: { retries?: number } };
    return j.stats?.retries ?? j.push?.retries;
  } catch {
    return undefined;
  }
}

/** bale pack can exit 0 without finishing (see docs/benchmark.md); never time a half bundle. */
async function assertBundle(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (!names.includes('bundle.json') || !names.includes('SHA256SUMS') || names.includes('.bale')) {
    throw new Error(`bale pack exited 0 but ${dir} holds no finished bundle: ${names.join(', ')}`);
  }
}

function flush(): void {
  // Push dirty pages out between runs so one run's writeback does not land on the next.
  spawnSync('sync');
}

function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function toolEnv(
  work: string,
): Promise<{ bale: Record<string, string>; skopeo: Record<string, string>; policy: string }> {
  const home = join(work, 'home');
  await mkdir(home, { recursive: true });
  const policy = join(home, 'policy.json');
  const authFile = join(home, 'auth.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(authFile, JSON.stringify({ auths: {} }));
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', CI: 'true' };
  return {
    bale: { ...base, REGISTRY_AUTH_FILE: authFile },
    skopeo: { ...base, REGISTRY_AUTH_FILE: authFile },
    policy,
  };
}

async function benchSize(args: Args, size: number, work: string): Promise<SizeResult> {
  const largeBlobBytes = args.largeBlob ?? Math.round(size / 4 / 512) * 512;
  const compressibleBytes = args.compressible ?? Math.round(size / 8);
  const label = fmtBytes(size);
  const dir = await mkdtemp(join(work, `size-${label.replace(/\s+/g, '')}-`));
  const env = await toolEnv(dir);
  const scratch = join(dir, 'scratch');
  await mkdir(scratch);

  log(
    `${label}: building the source release (${fmtBytes(size)} incompressible, ${fmtBytes(largeBlobBytes)} blob, ${fmtBytes(compressibleBytes)} compressible)`,
  );
  const setupStarted = Date.now();
  const src: SourceRelease = await buildSource({
    seed: args.seed,
    components: args.components,
    incompressibleBytes: size,
    largeBlobBytes,
    compressibleBytes,
    workDir: dir,
  });
  const setupS = (Date.now() - setupStarted) / 1000;
  log(
    `${label}: source ready in ${setupS.toFixed(1)} s: ${src.blobCount} blobs, ${fmtBytes(src.blobBytes)} at ${src.registry.host}`,
  );
  const yamlFile = join(dir, 'sync.yaml');
  await writeFile(yamlFile, src.skopeoYaml);
  const keyring = src.fx.keyringPath;

  const results = new Map<Tool, ToolSample[]>();
  const add = (tool: Tool, sample: ToolSample): void => {
    const { stdout, ...s } = sample;
    const retries = baleRetries(stdout);
    if (retries !== undefined) s.retries = retries;
    results.set(tool, [...(results.get(tool) ?? []), s]);
    log(
      `${label} rep ${s.rep + 1}: ${tool}: ${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, ${s.maxRssMiB.toFixed(0)} MiB RSS` +
        (s.registryCpuS === undefined ? '' : `, registry ${s.registryCpuS.toFixed(2)} s CPU`) +
        (s.retries ? `, ${s.retries} retries` : ''),
    );
  };
  const withRegistryCpu = async (
    pid: number | undefined,
    f: () => Promise<Sample>,
  ): Promise<Sample & { registryCpuS?: number }> => {
    const before = await processCpuSeconds(pid);
    const s = await f();
    const after = await processCpuSeconds(pid);
    return before !== undefined && after !== undefined ? { ...s, registryCpuS: after - before } : s;
  };

  let bundleBytes = 0;
  let volumes = 0;
  const repDirs: string[] = [];
  try {
    for (let rep = 0; rep < args.reps; rep++) {
      const repDir = join(dir, `rep-${rep}`);
      repDirs.push(repDir);
      await mkdir(repDir);
      const bundle = join(repDir, 'bundle');
      const skopeoDir = join(repDir, 'skopeo-dir');
      const boundFile = join(repDir, 'bound.tar.zst');

      // pack side: alternate the order each repetition.
      const packTools: [Tool, () => Promise<Sample & { registryCpuS?: number }>][] = [
        [
          'bale pack',
          () =>
            withRegistryCpu(src.registry.pid, () =>
              timed(
                process.execPath,
                [BALE_BIN, ...src.packArgs, ...args.packExtra, '--to', bundle, '--json'],
                {
                  env: env.bale,
                  scratch,
                },
              ),
            ),
        ],
        [
          'skopeo sync → dir',
          () =>
            withRegistryCpu(src.registry.pid, () =>
              timed(
                'skopeo',
                [
                  '--policy',
                  env.policy,
                  'sync',
                  '--all',
                  '--preserve-digests',
                  '--src',
                  'yaml',
                  '--dest',
                  'dir',
                  '--src-tls-verify=false',
                  yamlFile,
                  skopeoDir,
                ],
                { env: env.skopeo, scratch },
              ),
            ),
        ],
        [
          'tar | zstd -1 (bound)',
          () =>
            timed(
              'sh',
              [
                '-c',
                'tar -cf - -C "$1" . | zstd -1 -q -c > "$2"',
                'bound',
                src.registry.storageDir,
                boundFile,
              ],
              {
                env: env.skopeo,
                scratch,
              },
            ),
        ],
      ];
      const needPack = true; // verify and unpack read this repetition's bundle and skopeo dir
      if (needPack) {
        const order = args.only.has('pack')
          ? rotate(packTools, rep)
          : packTools.filter(([t]) => t !== 'tar | zstd -1 (bound)');
        for (const [i, [tool, f]] of order.entries()) {
          flush();
          const load1 = loadavg()[0] ?? 0;
          const s = await f();
          if (tool === 'bale pack') await assertBundle(bundle);
          if (args.only.has('pack')) add(tool, { ...s, rep, order: i, load1 });
        }
        await rm(boundFile, { force: true });
      }
      if (rep === 0) {
        const names = (await readdir(bundle)).filter((n) => /^volume-\d+\.tar\.zst$/.test(n));
        volumes = names.length;
        bundleBytes = 0;
        for (const n of names) bundleBytes += (await stat(join(bundle, n))).size;
        const images = (await readdir(skopeoDir)).length;
        if (images !== src.imageCount)
          throw new Error(`skopeo synced ${images} images, expected ${src.imageCount}`);
      }

      if (args.only.has('verify')) {
        const vols = (await readdir(bundle))
          .filter((n) => n.startsWith('volume-'))
          .map((n) => join(bundle, n));
        const verifyTools: [Tool, () => Promise<Sample>][] = [
          [
            'bale verify',
            () =>
              timed(process.execPath, [BALE_BIN, 'verify', bundle, '--keyring', keyring, '--json'], {
                env: env.bale,
                scratch,
              }),
          ],
          ['sha256sum volumes', () => timed('sha256sum', vols, { env: env.skopeo, scratch })],
        ];
        for (const [i, [tool, f]] of rotate(verifyTools, rep).entries()) {
          flush();
          const load1 = loadavg()[0] ?? 0;
          add(tool, { ...(await f()), rep, order: i, load1 });
        }
      }

      if (args.only.has('unpack')) {
        const unpackTools: [Tool, (host: string) => string[], string, Record<string, string>][] = [
          [
            'bale unpack --to',
            (host) => [
              BALE_BIN,
              'unpack',
              bundle,
              '--to',
              `${host}/mirror`,
              '--keyring',
              keyring,
              '--manifests-to-dir',
              join(repDir, 'manifests'),
              '--json',
            ],
            process.execPath,
            env.bale,
          ],
          [
            // --verify-first: the audit, then a second read to push (unpack before issue 13).
            'bale unpack --to (two passes)',
            (host) => [
              BALE_BIN,
              'unpack',
              bundle,
              '--to',
              `${host}/mirror`,
              '--verify-first',
              '--keyring',
              keyring,
              '--manifests-to-dir',
              join(repDir, 'manifests-two-passes'),
              '--json',
            ],
            process.execPath,
            env.bale,
          ],
          [
            'skopeo sync dir → docker',
            (host) => [
              '--policy',
              env.policy,
              'sync',
              '--all',
              '--preserve-digests',
              '--src',
              'dir',
              '--dest',
              'docker',
              '--dest-tls-verify=false',
              skopeoDir,
              `${host}/mirror`,
            ],
            'skopeo',
            env.skopeo,
          ],
        ];
        for (const [i, [tool, argsFor, cmd, toolEnvironment]] of rotate(unpackTools, rep).entries()) {
          const dest = await startRegistryProcess({ parentDir: repDir }); // a fresh, empty destination every time
          try {
            flush();
            const load1 = loadavg()[0] ?? 0;
            const s = await withRegistryCpu(dest.pid, () =>
              timed(cmd, argsFor(dest.host), { env: toolEnvironment, scratch }),
            );
            add(tool, { ...s, rep, order: i, load1 });
          } finally {
            await dest.stop();
          }
        }
      }

      // Keep the last repetition's bundle for the profiles; drop the rest now (disk).
      if (rep < args.reps - 1 || !args.profile) await rm(repDir, { recursive: true, force: true });
    }

    let profiles: Record<string, ProfileSummary> | undefined;
    if (args.profile)
      profiles = await profileRuns(src, dir, repDirs.at(-1) ?? dir, env, scratch, keyring, args);

    const bytesFor = (op: Op): number => (op === 'verify' ? bundleBytes : src.blobBytes);
    const opOf = (tool: Tool): Op =>
      tool.includes('verify') || tool.includes('sha256')
        ? 'verify'
        : tool.includes('unpack') || tool.includes('docker')
          ? 'unpack'
          : 'pack';
    const tools: ToolResult[] = [...results].map(([tool, samples]) => {
      const op = opOf(tool);
      const wall = median(samples.map((s) => s.wallS));
      const reg = samples.map((s) => s.registryCpuS).filter((x): x is number => x !== undefined);
      return {
        op,
        tool,
        bytes: bytesFor(op),
        samples,
        median: {
          wallS: wall,
          cpuS: median(samples.map((s) => s.cpuS)),
          userS: median(samples.map((s) => s.userS)),
          sysS: median(samples.map((s) => s.sysS)),
          maxRssMiB: median(samples.map((s) => s.maxRssMiB)),
          ...(reg.length > 0 ? { registryCpuS: median(reg) } : {}),
        },
        min: Math.min(...samples.map((s) => s.wallS)),
        max: Math.max(...samples.map((s) => s.wallS)),
        mibPerS: bytesFor(op) / MiB / wall,
      };
    });
    const wall = (t: Tool): number => tools.find((r) => r.tool === t)?.median.wallS ?? Number.NaN;
    const ratios: Record<string, number> = {
      'pack / skopeo (target ≤ 0.5)': wall('bale pack') / wall('skopeo sync → dir'),
      'pack / bound (target ≤ 2)': wall('bale pack') / wall('tar | zstd -1 (bound)'),
      'unpack / skopeo (target ≤ 0.8)': wall('bale unpack --to') / wall('skopeo sync dir → docker'),
      'unpack one pass / two passes': wall('bale unpack --to') / wall('bale unpack --to (two passes)'),
      'verify throughput / sha256sum (target ≥ 0.8)': wall('sha256sum volumes') / wall('bale verify'),
    };
    // CPU time is steadier than wall time on a shared machine: the same ratios on CPU seconds.
    const cpu = (t: Tool): number => tools.find((r) => r.tool === t)?.median.cpuS ?? Number.NaN;
    ratios['CPU: pack / skopeo'] = cpu('bale pack') / cpu('skopeo sync → dir');
    ratios['CPU: pack / bound'] = cpu('bale pack') / cpu('tar | zstd -1 (bound)');
    ratios['CPU: unpack / skopeo'] = cpu('bale unpack --to') / cpu('skopeo sync dir → docker');
    ratios['CPU: sha256sum / verify'] = cpu('sha256sum volumes') / cpu('bale verify');
    for (const k of Object.keys(ratios)) if (!Number.isFinite(ratios[k])) delete ratios[k];
    return {
      label,
      incompressibleBytes: size,
      largeBlobBytes,
      compressibleBytes,
      components: args.components,
      sourceBlobBytes: src.blobBytes,
      sourceBlobs: src.blobCount,
      bundleBytes,
      volumes,
      images: src.imageCount,
      setupS,
      tools,
      ratios,
      ...(profiles ? { profiles } : {}),
    };
  } finally {
    await src.registry.stop();
    if (!args.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** One more pack, verify and unpack, each under `node --cpu-prof`, summarised. */
async function profileRuns(
  src: SourceRelease,
  dir: string,
  repDir: string,
  env: { bale: Record<string, string> },
  scratch: string,
  keyring: string,
  args: Args,
): Promise<Record<string, ProfileSummary>> {
  const profDir = join(dir, 'profiles');
  await mkdir(profDir, { recursive: true });
  const out: Record<string, ProfileSummary> = {};
  const one = async (name: string, baleArgs: string[]): Promise<void> => {
    const d = join(profDir, name);
    await mkdir(d);
    flush();
    const s = await timed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', d, BALE_BIN, ...baleArgs], {
      env: env.bale,
      scratch,
    });
    const file = (await readdir(d)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written for ${name}`);
    const summary = await summariseProfile(join(d, file));
    out[name] = summary;
    process.stdout.write(
      `\n${formatProfile(`bale ${name} (profiled run: ${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, ${s.maxRssMiB.toFixed(0)} MiB RSS)`, summary)}\n`,
    );
  };
  const bundle = join(dir, 'profile-bundle');
  if (args.only.has('pack'))
    await one('pack', [...src.packArgs, ...args.packExtra, '--to', bundle, '--quiet']);
  const existing = args.only.has('pack') ? bundle : join(repDir, 'bundle');
  if (args.only.has('verify')) await one('verify', ['verify', existing, '--keyring', keyring, '--quiet']);
  if (args.only.has('unpack')) {
    const dest = await startRegistryProcess({ parentDir: dir });
    try {
      await one('unpack', [
        'unpack',
        existing,
        '--to',
        `${dest.host}/mirror`,
        '--keyring',
        keyring,
        '--manifests-to-dir',
        join(dir, 'prof-manifests'),
        '--quiet',
      ]);
    } finally {
      await dest.stop();
    }
  }
  return out;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export function formatTable(r: SizeResult): string {
  const head = [
    'operation',
    'tool',
    'wall s (min–max)',
    'CPU s',
    'MiB/s',
    'peak RSS MiB',
    'registry CPU s',
    'vs base',
    'vs bound',
  ];
  const widths = [7, 26, 20, 7, 7, 12, 14, 9, 8];
  const skopeoFor: Record<Op, Tool> = {
    pack: 'skopeo sync → dir',
    unpack: 'skopeo sync dir → docker',
    verify: 'sha256sum volumes',
  };
  const wallOf = (t: Tool): number => r.tools.find((x) => x.tool === t)?.median.wallS ?? Number.NaN;
  const lines = [
    `${r.label} incompressible + ${fmtBytes(r.largeBlobBytes)} blob + ${fmtBytes(r.compressibleBytes)} compressible: ` +
      `${r.images} images, ${r.sourceBlobs} blobs, ${fmtBytes(r.sourceBlobBytes)} in the source registry; ` +
      `bundle ${fmtBytes(r.bundleBytes)} in ${r.volumes} volume(s)`,
    head.map((h, i) => pad(h, widths[i] ?? 8)).join('  '),
  ];
  const order: Tool[] = [
    'bale pack',
    'skopeo sync → dir',
    'tar | zstd -1 (bound)',
    'bale unpack --to',
    'skopeo sync dir → docker',
    'bale verify',
    'sha256sum volumes',
  ];
  for (const tool of order) {
    const t = r.tools.find((x) => x.tool === tool);
    if (!t) continue;
    const isBale = tool.startsWith('bale');
    const vsSkopeo = isBale ? t.median.wallS / wallOf(skopeoFor[t.op]) : Number.NaN;
    const vsBound = tool === 'bale pack' ? t.median.wallS / wallOf('tar | zstd -1 (bound)') : Number.NaN;
    const cells = [
      t.op,
      tool,
      `${t.median.wallS.toFixed(2)} (${t.min.toFixed(2)}–${t.max.toFixed(2)})`,
      t.median.cpuS.toFixed(2),
      t.mibPerS.toFixed(0),
      t.median.maxRssMiB.toFixed(0),
      t.median.registryCpuS === undefined ? '' : t.median.registryCpuS.toFixed(2),
      Number.isFinite(vsSkopeo) ? `${vsSkopeo.toFixed(2)}×` : '',
      Number.isFinite(vsBound) ? `${vsBound.toFixed(2)}×` : '',
    ];
    lines.push(cells.map((c, i) => pad(c, widths[i] ?? 8, i >= 2)).join('  '));
  }
  lines.push(
    'ratios: ' +
      Object.entries(r.ratios)
        .map(([k, v]) => `${k}: ${v.toFixed(2)}`)
        .join('; '),
  );
  return lines.join('\n');
}

function formatGrowth(results: SizeResult[]): string {
  if (results.length < 2) return '';
  const tools = [...new Set(results.flatMap((r) => r.tools.map((t) => t.tool)))];
  const lines = ['growth with size (median wall s; s per GiB of source blobs):'];
  lines.push(['tool'.padEnd(26), ...results.map((r) => r.label.padStart(22))].join('  '));
  for (const tool of tools) {
    const cells = results.map((r) => {
      const t = r.tools.find((x) => x.tool === tool);
      return t
        ? `${t.median.wallS.toFixed(2)} s (${(t.median.wallS / (r.sourceBlobBytes / GiB)).toFixed(2)} s/GiB)`.padStart(
            22,
          )
        : ''.padStart(22);
    });
    lines.push([tool.padEnd(26), ...cells].join('  '));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!(await haveGnuTime()))
    throw new Error('the benchmark needs GNU time at /usr/bin/time (apt-get install time)');
  for (const [cmd, flagArg] of [
    ['skopeo', '--version'],
    ['zstd', '--version'],
    ['sha256sum', '--version'],
    ['/usr/bin/docker-registry', '--version'],
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
