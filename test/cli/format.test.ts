import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatRate, table } from '../../src/cli/format.js';

describe('formatBytes', () => {
  it('bytes below 1 KiB as they are, then binary units with one decimal below 100', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(264 * 1024 ** 2)).toBe('264 MiB');
    expect(formatBytes(1.38 * 1024 ** 3)).toBe('1.4 GiB');
  });

  it('stops at TiB', () => {
    expect(formatBytes(2048 * 1024 ** 4)).toBe('2048 TiB');
  });
});

describe('formatDuration', () => {
  it('seconds, then minutes and seconds, then hours and minutes', () => {
    expect(formatDuration(0)).toBe('0.0 s');
    expect(formatDuration(59_940)).toBe('59.9 s');
    expect(formatDuration(61_000)).toBe('1 min 1 s');
    expect(formatDuration(3_599_000)).toBe('59 min 59 s');
    expect(formatDuration(3_600_000 + 5 * 60_000)).toBe('1 h 5 min');
  });
});

describe('formatRate', () => {
  it('bytes per second, and a dash when no time has passed', () => {
    expect(formatRate(10 * 1024 ** 2, 2000)).toBe('5.0 MiB/s');
    expect(formatRate(100, 0)).toBe('-');
    expect(formatRate(100, -5)).toBe('-');
  });
});

describe('table', () => {
  it('pads each column to its widest cell, two spaces apart, no trailing blanks', () => {
    expect(
      table(
        ['NAME', 'SIZE', 'NOTE'],
        [
          ['openshift/release', '1.0 KiB', ''],
          ['x', '12 B', 'short'],
        ],
      ),
    ).toBe(
      [
        'NAME               SIZE     NOTE',
        'openshift/release  1.0 KiB',
        'x                  12 B     short',
        '',
      ].join('\n'),
    );
  });

  it('a row with fewer cells than the header does not throw', () => {
    expect(table(['A', 'B'], [['only']])).toBe('A     B\nonly\n');
  });
});
