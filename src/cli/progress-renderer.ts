import { MultiBar, type SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import type { Progress } from '../progress.js';
import { formatBytes, formatDuration, formatRate } from './format.js';

export interface Renderer extends Progress {
  /** Stop redrawing (before the summary is printed). */
  stop(): void;
}

export interface RendererOptions {
  stream: Writable;
  isTTY: boolean;
  quiet: boolean;
  /** Colour in the bars (a terminal without NO_COLOR). */
  color?: boolean;
  /** Milliseconds between plain progress lines when not on a terminal. */
  plainIntervalMs?: number;
  now?: () => number;
}

/**
 * On a terminal: one cli-progress bar per phase with bytes, rate and ETA, redrawn in
 * place on stderr. In a pipe or under CI: a line when a phase starts, then at most one
 * line per interval, no ANSI codes. With --quiet: only warnings.
 */
export function createRenderer(opts: RendererOptions): Renderer {
  const { stream, quiet } = opts;
  const now = opts.now ?? Date.now;
  const write = (line: string) => stream.write(`${line}\n`);

  if (quiet) {
    return {
      phase() {},
      advance() {},
      info() {},
      warn: (m) => write(`bale: warning: ${m}`),
      stop() {},
    };
  }

  if (opts.isTTY) return ttyRenderer(stream, opts.color ?? false);

  const interval = opts.plainIntervalMs ?? 10_000;
  let name = '';
  let totals: { bytes?: number; items?: number } = {};
  let bytes = 0;
  let items = 0;
  let started = 0;
  let lastLine = 0;
  const line = () => {
    const parts = [`${name}:`];
    if (totals.bytes) parts.push(`${Math.floor((bytes / totals.bytes) * 100)}%`);
    parts.push(totals.bytes ? `${formatBytes(bytes)} of ${formatBytes(totals.bytes)}` : formatBytes(bytes));
    if (totals.items) parts.push(`(${items}/${totals.items})`);
    parts.push(formatRate(bytes, now() - started));
    write(parts.join(' '));
  };
  return {
    phase(n, t) {
      name = n;
      totals = t ?? {};
      bytes = 0;
      items = 0;
      started = now();
      lastLine = started;
      const what = [t?.items ? `${t.items} items` : '', t?.bytes ? formatBytes(t.bytes) : ''].filter(Boolean);
      write(`${n}${what.length ? ` (${what.join(', ')})` : ''}...`);
    },
    advance(b, i) {
      bytes += b;
      items += i ?? 0;
      if (now() - lastLine >= interval) {
        lastLine = now();
        line();
      }
    },
    info: (m) => write(m),
    warn: (m) => write(`bale: warning: ${m}`),
    stop() {},
  };
}

interface PhaseState {
  name: string;
  kind: 'bytes' | 'items' | 'none';
  total: number;
  bytes: number;
  items: number;
  started: number;
  ended?: number;
}

const SGR = { green: '\x1b[32m', dim: '\x1b[2m', reset: '\x1b[0m' };

/**
 * One line for a phase: `name [bar] pct% done/total rate ETA` (bytes), `done/total`
 * (items), or just what is done so far when there is no total. The bar takes the width
 * the text leaves (10 to 30 cells); the line never reaches the terminal's last column,
 * as a wrapped line breaks the redraw in place.
 */
export function formatPhaseLine(p: PhaseState, opts: { color: boolean; width: number; now: number }): string {
  const elapsed = (p.ended ?? opts.now) - p.started;
  const name = p.name.padEnd(15);
  const fit = (text: string) =>
    text.length < opts.width ? text : text.slice(0, Math.max(10, opts.width - 1));
  if (p.kind === 'none') {
    const parts = [name];
    if (p.items) parts.push(`${p.items} item(s)`);
    if (p.bytes) parts.push(formatBytes(p.bytes), formatRate(p.bytes, elapsed));
    parts.push(formatDuration(elapsed));
    return fit(parts.join(' '));
  }
  const value = p.kind === 'bytes' ? p.bytes : p.items;
  const fraction = p.total > 0 ? Math.min(1, value / p.total) : 0;
  const after = [`${Math.floor(fraction * 100)}%`.padStart(4)];
  if (p.kind === 'bytes')
    after.push(`${formatBytes(p.bytes)}/${formatBytes(p.total)}`, formatRate(p.bytes, elapsed));
  else after.push(`${p.items}/${p.total}`);
  if (p.ended !== undefined) after.push(`in ${formatDuration(elapsed)}`);
  else if (value > 0 && elapsed > 0 && value < p.total) {
    after.push(`ETA ${formatDuration(((p.total - value) * elapsed) / value)}`);
  } else after.push('ETA -');
  const text = after.join(' ');
  // A steady bar width: room for the longest text of this kind ("100% 999.9 MiB/999.9 GiB 999.9 MiB/s ETA 59 min 59 s").
  const reserve = p.kind === 'bytes' ? 50 : 28;
  const size = Math.min(30, opts.width - 1 - name.length - reserve - 4);
  if (size < 8) return fit(`${name} ${text}`);
  const full = Math.round(fraction * size);
  const filled = '█'.repeat(full);
  const empty = '░'.repeat(size - full);
  const bar = opts.color
    ? `${filled ? `${SGR.green}${filled}${SGR.reset}` : ''}${empty ? `${SGR.dim}${empty}${SGR.reset}` : ''}`
    : filled + empty;
  return opts.width > name.length + size + 4 + text.length
    ? `${name} [${bar}] ${text}`
    : fit(`${name} [${filled + empty}] ${text}`);
}

/**
 * cli-progress MultiBar: one bar per phase, the finished ones stay above the current one
 * with their final numbers; info and warnings print above the bars.
 */
function ttyRenderer(stream: Writable, color: boolean): Renderer {
  let multi: MultiBar | undefined;
  let current: { bar: SingleBar; state: PhaseState } | undefined;
  const width = () => (stream as NodeJS.WriteStream).columns || 80;
  const ensure = (): MultiBar => {
    multi ??= new MultiBar({
      stream: stream as NodeJS.WriteStream,
      hideCursor: true,
      clearOnComplete: false,
      linewrap: false,
      fps: 5,
      format: (_options, _params, payload: { state: PhaseState }) =>
        formatPhaseLine(payload.state, { color, width: width(), now: Date.now() }),
    });
    return multi;
  };
  const finishCurrent = () => {
    if (!current) return;
    current.state.ended = Date.now();
    current.bar.update(current.state.kind === 'bytes' ? current.state.bytes : current.state.items, {
      state: current.state,
    });
    current = undefined;
  };
  const log = (m: string) => {
    if (multi) multi.log(`${m}\n`);
    else stream.write(`${m}\n`);
  };
  return {
    phase(name, totals) {
      finishCurrent();
      const kind = totals?.bytes ? 'bytes' : totals?.items ? 'items' : 'none';
      const total = kind === 'bytes' ? (totals?.bytes ?? 0) : kind === 'items' ? (totals?.items ?? 0) : 0;
      const state: PhaseState = { name, kind, total, bytes: 0, items: 0, started: Date.now() };
      const bar = ensure().create(Math.max(total, 1), 0, { state }) as unknown as SingleBar;
      current = { bar, state };
    },
    advance(b, i) {
      if (!current) return;
      current.state.bytes += b;
      current.state.items += i ?? 0;
      current.bar.update(current.state.kind === 'bytes' ? current.state.bytes : current.state.items, {
        state: current.state,
      });
    },
    info: log,
    warn: (m) => log(`bale: warning: ${m}`),
    stop() {
      finishCurrent();
      // update() first: it prints log lines still buffered.
      multi?.update();
      multi?.stop();
      multi = undefined;
    },
  };
}
