/* eslint-disable no-control-regex -- these tests look for terminal escape codes */
/** The progress renderer on a fake terminal and in a pipe, and the phase line layout. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRenderer, formatPhaseLine } from '../../src/cli/progress-renderer.js';

function sink(isTTY: boolean, columns = 100): PassThrough & { text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text(): string };
  let out = '';
  s.on('data', (d: Buffer) => (out += d.toString('utf8')));
  s.isTTY = isTTY;
  s.columns = columns;
  s.text = () => out;
  return s;
}

describe('createRenderer', () => {
  it('in a pipe: one line per phase start, warnings, no escape codes', () => {
    let t = 0;
    const s = sink(false);
    const r = createRenderer({ stream: s, isTTY: false, quiet: false, plainIntervalMs: 1000, now: () => t });
    r.phase('download', { bytes: 4096, items: 2 });
    r.advance(1024, 1);
    t = 1500;
    r.advance(1024, 0);
    r.warn('retrying');
    r.phase('write volumes');
    r.stop();
    expect(s.text()).not.toContain('\x1b');
    expect(s.text().split('\n')).toEqual([
      'download (2 items, 4.0 KiB)...',
      'download: 50% 2.0 KiB of 4.0 KiB (1/2) 1.3 KiB/s',
      'bale: warning: retrying',
      'write volumes...',
      '',
    ]);
  });

  it('--quiet: warnings only', () => {
    const s = sink(false);
    const r = createRenderer({ stream: s, isTTY: true, quiet: true });
    r.phase('download', { bytes: 10 });
    r.advance(10);
    r.info('hello');
    r.warn('careful');
    r.stop();
    expect(s.text()).toBe('bale: warning: careful\n');
  });

  it('on a terminal: bars redrawn in place, info above them, colour only when asked', () => {
    for (const color of [true, false]) {
      const s = sink(true);
      const r = createRenderer({ stream: s, isTTY: true, quiet: false, color });
      r.phase('manifests', { items: 4 });
      r.advance(0, 2);
      r.info('release 4.18.7');
      r.phase('pack', { bytes: 2048 });
      r.advance(1024);
      r.stop();
      const text = s.text();
      expect(text).toContain('\x1b[?25l');
      expect(text).toContain('\x1b[?25h'); // cursor shown again
      expect(text).toMatch(/\x1b\[\d+A/);
      expect(text).toContain('release 4.18.7\n');
      expect(text).toMatch(/manifests\s+\[[^\]]+\]\s+100% 4\/4|manifests\s+\[[^\]]+\]\s+50% 2\/4/);
      if (color) expect(text).toContain('\x1b[32m');
      else expect(text).not.toMatch(/\x1b\[[0-9;]*m/);
    }
  });
});

describe('formatPhaseLine', () => {
  const base = { name: 'pack', started: 0, bytes: 0, items: 0 };

  it('bytes: bar, percentage, done/total, rate and ETA; never as wide as the terminal', () => {
    for (const width of [40, 60, 80, 120, 200]) {
      const line = formatPhaseLine(
        { ...base, kind: 'bytes', total: 10 * 1024 ** 3, bytes: 5 * 1024 ** 3 },
        { color: false, width, now: 10_000 },
      );
      expect(line.length).toBeLessThan(width);
      if (width >= 80)
        expect(line).toMatch(/^pack\s+\[█+░+\]\s+50% 5\.0 GiB\/10\.0 GiB 512 MiB\/s ETA 10\.0 s$/);
    }
  });

  it('items, finished phases and phases without totals', () => {
    expect(
      formatPhaseLine(
        { ...base, kind: 'items', total: 5, items: 5, ended: 2000 },
        { color: false, width: 100, now: 0 },
      ),
    ).toMatch(/\[█+\] 100% 5\/5 in 2\.0 s$/);
    expect(
      formatPhaseLine(
        { ...base, name: 'resolve release', kind: 'none', total: 0 },
        { color: false, width: 100, now: 300 },
      ),
    ).toBe('resolve release 0.3 s');
  });
});
