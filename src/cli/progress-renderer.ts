import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import type { Progress } from '../progress.js';
import { formatBytes, formatRate } from './format.js';

export interface Renderer extends Progress {
  /** Stop redrawing (before the summary is printed). */
  stop(): void;
}

export interface RendererOptions {
  stream: Writable;
  isTTY: boolean;
  quiet: boolean;
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

  if (opts.isTTY) return ttyRenderer(stream);

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

function ttyRenderer(stream: Writable): Renderer {
  let bar: SingleBar | undefined;
  let started = 0;
  let bytes = 0;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  const payload = (total: number) => ({
    done: formatBytes(bytes),
    all: formatBytes(total),
    rate: formatRate(bytes, Date.now() - started),
  });
  const above = (m: string) => {
    // Print a log line without breaking the bar: clear the line, print, redraw.
    if (bar) {
      stream.write(`\r\x1b[2K${m}\n`);
      bar.render();
    } else {
      stream.write(`${m}\n`);
    }
  };
  return {
    phase(name, totals) {
      stopBar();
      started = Date.now();
      bytes = 0;
      const total = totals?.bytes ?? totals?.items ?? 0;
      bar = new SingleBar({
        stream: stream as NodeJS.WriteStream,
        format: `${name.padEnd(16)} [{bar}] {percentage}% {done}/{all} {rate} ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 5,
      });
      bar.start(Math.max(total, 1), 0, payload(total));
      if (!totals?.bytes) bar.update(0, { done: '', all: '', rate: '' });
    },
    advance(b, i) {
      bytes += b;
      if (!bar) return;
      const total = bar.getTotal();
      bar.increment(b > 0 ? b : (i ?? 0), payload(total));
    },
    info: above,
    warn: (m) => above(`bale: warning: ${m}`),
    stop: stopBar,
  };
}
