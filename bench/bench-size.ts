/**
 * One size of the benchmark: build the source release, then for each repetition time
 * the pack side, verify and the unpack side (alternating the order), and summarise.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fmtBytes, log, type Args } from './bench-args.js';
import { ratiosOf, summarise, type SizeResult, type Tool, type ToolSample } from './bench-results.js';
import {
  flush,
  packTools,
  rotate,
  toolEnv,
  unpackTools,
  verifyTools,
  withRegistryCpu,
  type RepPaths,
  type SizeSetup,
} from './bench-tools.js';
import { timed, type Sample } from './measure.js';
import { profileRuns } from './profile-runs.js';
import { buildSource } from './source-release.js';
import { startRegistryProcess } from '../fixtures/registry-process.js';

/** The samples of one size, logged as they come. */
class Recorder {
  readonly results = new Map<Tool, ToolSample[]>();
  constructor(private readonly label: string) {}

  add(tool: Tool, sample: ToolSample): void {
    const { stdout, ...s } = sample;
    const retries = baleRetries(stdout);
    if (retries !== undefined) s.retries = retries;
    this.results.set(tool, [...(this.results.get(tool) ?? []), s]);
    log(
      `${this.label} rep ${s.rep + 1}: ${tool}: ${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, ${s.maxRssMiB.toFixed(0)} MiB RSS` +
        (s.registryCpuS === undefined ? '' : `, registry ${s.registryCpuS.toFixed(2)} s CPU`) +
        (s.retries ? `, ${s.retries} retries` : ''),
    );
  }
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

export async function benchSize(args: Args, size: number, work: string): Promise<SizeResult> {
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
  const src = await buildSource({
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
  const setup: SizeSetup = { args, src, env, scratch, yamlFile, keyring: src.fx.keyringPath };
  const recorder = new Recorder(label);
  try {
    let bundle = { bytes: 0, volumes: 0 };
    const repDirs: string[] = [];
    for (let rep = 0; rep < args.reps; rep++) {
      const repDir = join(dir, `rep-${rep}`);
      repDirs.push(repDir);
      await mkdir(repDir);
      const paths: RepPaths = {
        rep,
        repDir,
        bundle: join(repDir, 'bundle'),
        skopeoDir: join(repDir, 'skopeo-dir'),
        boundFile: join(repDir, 'bound.tar.zst'),
      };
      await runPackSide(setup, paths, recorder);
      if (rep === 0) bundle = await measureBundle(setup, paths);
      if (args.only.has('verify')) await runVerify(setup, paths, recorder);
      if (args.only.has('unpack')) await runUnpackSide(setup, paths, recorder);
      // Keep the last repetition's bundle for the profiles; drop the rest now (disk).
      if (rep < args.reps - 1 || !args.profile) await rm(repDir, { recursive: true, force: true });
    }
    const profiles = args.profile
      ? await profileRuns(src, dir, repDirs.at(-1) ?? dir, env, scratch, setup.keyring, args)
      : undefined;
    const tools = summarise(recorder.results, (op) => (op === 'verify' ? bundle.bytes : src.blobBytes));
    return {
      label,
      incompressibleBytes: size,
      largeBlobBytes,
      compressibleBytes,
      components: args.components,
      sourceBlobBytes: src.blobBytes,
      sourceBlobs: src.blobCount,
      bundleBytes: bundle.bytes,
      volumes: bundle.volumes,
      images: src.imageCount,
      setupS,
      tools,
      ratios: ratiosOf(tools),
      ...(profiles ? { profiles } : {}),
    };
  } finally {
    await src.registry.stop();
    if (!args.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** The pack side, order alternating by repetition; always run: verify and unpack read its outputs. */
async function runPackSide(s: SizeSetup, p: RepPaths, recorder: Recorder): Promise<void> {
  const tools = packTools(s, p);
  const timedPack = s.args.only.has('pack');
  const order = timedPack ? rotate(tools, p.rep) : tools.filter(([t]) => t !== 'tar | zstd -1 (bound)');
  for (const [i, [tool, f]] of order.entries()) {
    flush();
    const load1 = loadavg()[0] ?? 0;
    const sample = await f();
    if (tool === 'bale pack') await assertBundle(p.bundle);
    if (timedPack) recorder.add(tool, { ...sample, rep: p.rep, order: i, load1 });
  }
  await rm(p.boundFile, { force: true });
}

/** The bundle's size and volume count, and a check that skopeo copied every image. */
async function measureBundle(s: SizeSetup, p: RepPaths): Promise<{ bytes: number; volumes: number }> {
  const names = (await readdir(p.bundle)).filter((n) => /^volume-\d+\.tar\.zst$/.test(n));
  let bytes = 0;
  for (const n of names) bytes += (await stat(join(p.bundle, n))).size;
  const images = (await readdir(p.skopeoDir)).length;
  if (images !== s.src.imageCount)
    throw new Error(`skopeo synced ${images} images, expected ${s.src.imageCount}`);
  return { bytes, volumes: names.length };
}

async function runVerify(s: SizeSetup, p: RepPaths, recorder: Recorder): Promise<void> {
  const tools: [Tool, () => Promise<Sample>][] = await verifyTools(s, p);
  for (const [i, [tool, f]] of rotate(tools, p.rep).entries()) {
    flush();
    const load1 = loadavg()[0] ?? 0;
    recorder.add(tool, { ...(await f()), rep: p.rep, order: i, load1 });
  }
}

/** Each unpack-side tool into a fresh, empty destination registry. */
async function runUnpackSide(s: SizeSetup, p: RepPaths, recorder: Recorder): Promise<void> {
  for (const [i, [tool, argsFor, cmd, toolEnvironment]] of rotate(unpackTools(s, p), p.rep).entries()) {
    const dest = await startRegistryProcess({ parentDir: p.repDir });
    try {
      flush();
      const load1 = loadavg()[0] ?? 0;
      const sample = await withRegistryCpu(dest.pid, () =>
        timed(cmd, argsFor(dest.host), { env: toolEnvironment, scratch: s.scratch }),
      );
      recorder.add(tool, { ...sample, rep: p.rep, order: i, load1 });
    } finally {
      await dest.stop();
    }
  }
}
