/** The benchmark's text report: one table per size, and the growth with size. */
import { fmtBytes, type Op } from './bench-args.js';
import type { SizeResult, Tool } from './bench-results.js';

const GiB = 1024 ** 3;

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

export function formatGrowth(results: SizeResult[]): string {
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
