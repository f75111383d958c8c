/** Human sizes as GNU coreutils reads them, and the rendering used in messages. */
import { describe, expect, test } from 'vitest';
import { formatSize, parseSize } from '../../src/bundle/parse-size.js';
import { isBaleError } from '../../src/errors.js';

describe('parseSize', () => {
  test.each([
    ['4GiB', 4 * 1024 ** 3],
    ['700MiB', 700 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['512M', 512 * 1024 ** 2],
    ['1GB', 1e9],
    ['12345', 12345],
    ['64 KiB', 65536],
    ['0', 0],
    ['7B', 7],
    ['1.5k', 1536],
    ['2kb', 2000],
    ['1Ti', 1024 ** 4],
    ['3 TB', 3e12],
    [' 8 mib ', 8 * 1024 ** 2],
    [4096, 4096],
  ])('%s', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });
  test.each(['', 'abc', '4XB', '-1', '1e3', '1.5.2M', '10 M B', '99999999999999999999TiB'])(
    'rejects %j',
    (input) => {
      expect(() => parseSize(input)).toThrow(/is not a size/);
    },
  );
  test.each([-1, 1.5, Number.NaN, 2 ** 53])('rejects the number %d', (input) => {
    expect(() => parseSize(input)).toThrow(/is not a size/);
  });
  test('the error is E_USAGE, names what was given and hints at the units', () => {
    let caught: unknown;
    try {
      parseSize('4 GiBs', '--volume-size');
    } catch (err) {
      caught = err;
    }
    expect(isBaleError(caught, 'E_USAGE')).toBe(true);
    expect((caught as Error).message).toBe('--volume-size "4 GiBs" is not a size');
    expect((caught as { hint?: string }).hint).toMatch(/700MiB, 4GiB, 512M/);
  });
});

describe('formatSize', () => {
  test.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [700 * 1024 ** 2, '700.0 MiB'],
    [4 * 1024 ** 3, '4.0 GiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    [2048 * 1024 ** 4, '2048.0 TiB'],
  ])('%i bytes: %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
