/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by
 * coarse category (hashing, zstd, tar, HTTP, fs, GC, idle ...), to see where a bale
 * command spends its main thread. Work done off the main thread (libuv file I/O, zstd
 * in worker threads, the kernel) shows up as idle here and in the CPU columns instead.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: { name: string; where: string; selfMs: number; percent: number }[];
  categories: { category: string; selfMs: number; percent: number }[];
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url;
}

/** A coarse bucket for a frame, by function name and source. */
const FS_NATIVE = new Set([
  'open',
  'openFileHandle',
  'close',
  'read',
  'readBuffers',
  'writeBuffer',
  'writeBuffers',
  'writeString',
  'fstat',
  'lstat',
  'stat',
  'rename',
  'unlink',
  'mkdir',
  'readdir',
  'fsync',
  'fdatasync',
  'rmSync',
  'rm',
  'realpath',
  'access',
]);
const MODULE_LOADING = new Set([
  'compileSourceTextModule',
  'wrapSafe',
  'compileForInternalLoader',
  'internalModuleStat',
  'compileFunction',
]);

/** A coarse bucket for a frame, by function name and source. */
export function categorise(frame: CallFrame): string {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle (waiting for I/O, threads or peers)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'V8/native (program)';
  if (MODULE_LOADING.has(fn) || url.includes('node:internal/modules')) return 'module loading (startup)';
  if (/zstd/i.test(url) || /^(compressStream2|decompressStream|compress|decompress)$/.test(fn)) return 'zstd';
  if (
    url.includes('node:internal/crypto') ||
    url.includes('/digest.js') ||
    fn === 'Hash' ||
    fn === 'HashDigest'
  )
    return 'sha256 hashing';
  if (url === '' && FS_NATIVE.has(fn)) return 'fs bindings (main thread part)';
  if (url.includes('undici')) return 'HTTP client (undici)';
  if (url.includes('tar-stream') || url.includes('streamx') || url.includes('b4a') || /tar|volume/i.test(url))
    return 'tar / volume code';
  if (url.includes('node:internal/fs') || url.includes('node:fs')) return 'fs (JS side)';
  if (url.includes('node:internal/streams') || url.includes('node:stream')) return 'node streams';
  if (url.includes('node:net') || url.includes('node:internal/stream_base') || url.includes('node:_http'))
    return 'sockets';
  if (url.includes('openpgp')) return 'OpenPGP';
  if (url.includes('/dist/src/')) return 'bale (other)';
  if (url === '') return `native: ${fn}`;
  return 'other JS';
}

export async function summariseProfile(file: string, topN = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const cats = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const name = f.functionName || '(anonymous)';
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = fns.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
    const cat = categorise(f);
    cats.set(cat, (cats.get(cat) ?? 0) + us);
  }
  return {
    file,
    totalMs: totalUs / 1000,
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, percent: (100 * e.us) / totalUs })),
    categories: [...cats]
      .sort((a, b) => b[1] - a[1])
      .map(([category, us]) => ({ category, selfMs: us / 1000, percent: (100 * us) / totalUs })),
  };
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const lines = [`${title}: ${(s.totalMs / 1000).toFixed(2)} s sampled on the main thread`];
  lines.push('  by category:');
  for (const c of s.categories.slice(0, 12))
    lines.push(
      `    ${c.percent.toFixed(1).padStart(5)} %  ${(c.selfMs / 1000).toFixed(2).padStart(7)} s  ${c.category}`,
    );
  lines.push('  top self time:');
  for (const t of s.top) {
    lines.push(
      `    ${t.percent.toFixed(1).padStart(5)} %  ${(t.selfMs / 1000).toFixed(2).padStart(7)} s  ${t.name}  ${t.where}`,
    );
  }
  return lines.join('\n');
}
