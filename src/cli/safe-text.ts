/** Safe printing for the CLI: the helpers live in src/safe-text.ts (workflows quote suggested commands too). */
export { safeLines, safeText, shellCommand, shellQuote } from '../safe-text.js';
