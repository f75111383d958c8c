/**
 * The benchmark's results: per-tool medians of the samples, and the ratios the issue's
 * targets are stated in (the JSON shape bench/results/*.json and the README refer to).
 */
import type { Op } from './bench-args.js';
import type { ProfileSummary } from './cpu-profile.js';
import { median, type Sample } from './measure.js';

const MiB = 1024 ** 2;

export type Tool =
  | 'bale pack'
  | 'skopeo sync → dir'
  | 'tar | zstd -1 (bound)'
  | 'bale verify'
  | 'sha256sum volumes'
  | 'bale unpack --to'
  | 'bale unpack --to (two passes)'
  | 'skopeo sync dir → docker';

export interface ToolSample extends Sample {
  rep: number;
  order: number;
  /** CPU seconds the registry serving or receiving the data used meanwhile. */
  registryCpuS?: number;
  load1: number;
  /** bale's own count of HTTP retries (from its --json output). */
  retries?: number;
}

export interface ToolResult {
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

export interface SizeResult {
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

/** The ratio labels, each stating issue 13's target. */
export const RATIO = {
  packVsSkopeo: 'pack / skopeo (target ≤ 0.6)',
  packVsBound: 'pack / bound (target ≤ 1.5)',
  unpackVsSkopeo: 'unpack / skopeo (target ≤ 0.8)',
  onePassVsTwo: 'unpack one pass / two passes',
  verifyVsSha256sum: 'verify throughput / sha256sum (target ≥ 1.0)',
} as const;

export function opOf(tool: Tool): Op {
  return tool.includes('verify') || tool.includes('sha256')
    ? 'verify'
    : tool.includes('unpack') || tool.includes('docker')
      ? 'unpack'
      : 'pack';
}

/** Each tool's samples summarised: medians, range, throughput over `bytesFor(op)`. */
export function summarise(results: Map<Tool, ToolSample[]>, bytesFor: (op: Op) => number): ToolResult[] {
  return [...results].map(([tool, samples]) => {
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
}

/** bale against the baselines on median wall time, then the same on CPU seconds; only those measured. */
export function ratiosOf(tools: readonly ToolResult[]): Record<string, number> {
  const wall = (t: Tool): number => tools.find((r) => r.tool === t)?.median.wallS ?? Number.NaN;
  const ratios: Record<string, number> = {
    [RATIO.packVsSkopeo]: wall('bale pack') / wall('skopeo sync → dir'),
    [RATIO.packVsBound]: wall('bale pack') / wall('tar | zstd -1 (bound)'),
    [RATIO.unpackVsSkopeo]: wall('bale unpack --to') / wall('skopeo sync dir → docker'),
    [RATIO.onePassVsTwo]: wall('bale unpack --to') / wall('bale unpack --to (two passes)'),
    [RATIO.verifyVsSha256sum]: wall('sha256sum volumes') / wall('bale verify'),
  };
  // CPU time is steadier than wall time on a shared machine: the same ratios on CPU seconds.
  const cpu = (t: Tool): number => tools.find((r) => r.tool === t)?.median.cpuS ?? Number.NaN;
  ratios['CPU: pack / skopeo'] = cpu('bale pack') / cpu('skopeo sync → dir');
  ratios['CPU: pack / bound'] = cpu('bale pack') / cpu('tar | zstd -1 (bound)');
  ratios['CPU: unpack / skopeo'] = cpu('bale unpack --to') / cpu('skopeo sync dir → docker');
  ratios['CPU: sha256sum / verify'] = cpu('sha256sum volumes') / cpu('bale verify');
  for (const k of Object.keys(ratios)) if (!Number.isFinite(ratios[k])) delete ratios[k];
  return ratios;
}
