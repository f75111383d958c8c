/** The one PRNG lives in fixtures/prng.ts (shared with the fixtures, demo and benchmark). */
export { mulberry32, seededBytes } from '../../fixtures/prng.js';
