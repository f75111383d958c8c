import { BaleError } from '../errors.js';

/**
 * Human sizes as GNU coreutils reads them (`split -b`, `truncate -s`): `K`, `M`, `G`,
 * `T` and `KiB`…`TiB` are powers of 1024; `KB`, `MB`, `GB`, `TB` are powers of 1000;
 * a bare number is bytes (`B` suffix allowed). Case-insensitive, optional space.
 */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  ki: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

export function parseSize(input: string | number, what = 'size'): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw sizeError(String(input), what);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw sizeError(input, what);
  const value = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(value)) throw sizeError(input, what);
  return value;
}

function sizeError(input: string, what: string): BaleError {
  return new BaleError('E_USAGE', `${what} ${JSON.stringify(input)} is not a size`, {
    hint: 'Give bytes or a number with a unit: 700MiB, 4GiB, 512M (M, G = powers of 1024; MB, GB = powers of 1000).',
  });
}

/** `1.5 GiB`-style rendering for messages and tables. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[i]}`;
}
