import { isDigest } from '../digest.js';
import { isHex64, isRepository } from './entry-path.js';

/** A JSON object of bundle.json. */
export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The typed field checks, each recording what is wrong where. */
export function checker(problems: string[]) {
  const bad = (where: string, what: string): void => {
    problems.push(`${where} ${what}`);
  };
  const obj = (v: unknown, where: string, keys: readonly string[]): Obj | undefined => {
    if (!isObj(v)) {
      bad(where, 'is not an object');
      return undefined;
    }
    for (const k of Object.keys(v)) if (!keys.includes(k)) bad(where, `has unknown field "${k}"`);
    return v;
  };
  const str = (o: Obj, k: string, where: string, optional = false): string | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096) {
      bad(`${where}.${k}`, 'must be a non-empty string');
      return undefined;
    }
    return v;
  };
  const int = (o: Obj, k: string, where: string): number | undefined => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      bad(`${where}.${k}`, 'must be a non-negative integer');
      return undefined;
    }
    return v;
  };
  const digest = (o: Obj, k: string, where: string, optional = false): void => {
    if (o[k] === undefined && optional) return;
    if (!isDigest(o[k])) bad(`${where}.${k}`, 'must be a sha256:<64 hex> digest');
  };
  const hex = (o: Obj, k: string, where: string): void => {
    if (!isHex64(o[k])) bad(`${where}.${k}`, 'must be 64 lowercase hex characters');
  };
  const arr = (o: Obj, k: string, where: string, optional = false): unknown[] => {
    const v = o[k];
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) {
      bad(`${where}.${k}`, 'must be an array');
      return [];
    }
    return v;
  };
  const repo = (o: Obj, k: string, where: string): void => {
    if (!isRepository(o[k])) bad(`${where}.${k}`, 'must be a repository path (lowercase components)');
  };
  return { bad, obj, str, int, digest, hex, arr, repo };
}
export type Checker = ReturnType<typeof checker>;
