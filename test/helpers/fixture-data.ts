import { fileURLToPath } from 'node:url';

/**
 * `fixtures/data/` in this checkout: genuine Red Hat release signatures and keyrings and
 * the real Cincinnati graph-data tree, kept in the repository so that a fresh clone
 * tests itself with nothing beside it (see fixtures/data/README.md for provenance).
 */
export const REALDATA_DIR: string = fileURLToPath(new URL('../../fixtures/data', import.meta.url));
