import { fileURLToPath } from 'node:url';

/**
 * `../shared/` beside this checkout (read-only seed material: genuine signatures and
 * keyrings, the real Cincinnati graph-data tree). BALE_SHARED_DIR overrides it.
 */
export const SHARED_DIR: string =
  process.env.BALE_SHARED_DIR ?? fileURLToPath(new URL('../../../shared/', import.meta.url));

export const REALDATA_DIR = `${SHARED_DIR.replace(/\/$/, '')}/realdata`;
