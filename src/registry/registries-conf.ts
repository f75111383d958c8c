/**
 * Mirror tables of containers `registries.conf` (version 2, containers-registries.conf(5)):
 *
 * ```toml
 * [[registry]]
 * prefix = "quay.io/openshift-release-dev"      # default: location
 * location = "quay.io/openshift-release-dev"
 * mirror-by-digest-only = true
 * [[registry.mirror]]
 * location = "mirror.example.com:5000/ocp"
 * pull-from-mirror = "digest-only"               # all (default), digest-only, tag-only
 * ```
 *
 * Files are read as containers/image reads them: the user's
 * `~/.config/containers/registries.conf` if it exists, else
 * `/etc/containers/registries.conf`; then the drop-ins of
 * `/etc/containers/registries.conf.d/` and `~/.config/containers/registries.conf.d/`
 * (`*.conf`, by name), a `[[registry]]` of a later file replacing one with the same
 * prefix. An explicit path (`--registries-conf`) is read alone. Keys outside
 * `[[registry]]` (search registries, aliases) are not about mirrors and are not
 * read; unknown keys inside `[[registry]]` are errors.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { BaleError, messageOf } from '../errors.js';
import { MirrorSources, prefixProblem, type MirrorLocation, type MirrorRule } from './mirror-sources.js';

const HINT =
  'See containers-registries.conf(5): [[registry]] with prefix/location and [[registry.mirror]] location.';
const MAX_BYTES = 1024 * 1024;

export interface RegistriesConfLocations {
  /** `--registries-conf`: this file alone. */
  path?: string;
  systemPath?: string;
  systemDropInDir?: string;
  userPath?: string;
  userDropInDir?: string;
}

/** The usual locations, for a home directory (the CLI passes `os.homedir()`). */
export function defaultRegistriesConfLocations(
  homeDir: string,
): Required<Omit<RegistriesConfLocations, 'path'>> {
  return {
    systemPath: '/etc/containers/registries.conf',
    systemDropInDir: '/etc/containers/registries.conf.d',
    userPath: join(homeDir, '.config/containers/registries.conf'),
    userDropInDir: join(homeDir, '.config/containers/registries.conf.d'),
  };
}

function bad(file: string, field: string, what: string): BaleError {
  return new BaleError('E_MIRROR_CONFIG_INVALID', `${file}: ${field}: ${what}`, {
    hint: HINT,
    details: { file, field },
  });
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

function checkKeys(file: string, field: string, t: Table, allowed: readonly string[]): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) throw bad(file, `${field}.${k}`, 'unknown key');
}

function str(file: string, field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(file, field, 'must be a string');
  return v;
}

function bool(file: string, field: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(file, field, 'must be true or false');
  return v;
}

function place(file: string, field: string, v: string, wildcard: boolean): string {
  const why = prefixProblem(v, wildcard);
  if (why !== undefined) throw bad(file, field, `${JSON.stringify(v)} ${why}`);
  return v;
}

function readMirror(file: string, field: string, m: unknown, digestOnly: boolean): MirrorLocation {
  if (!isTable(m)) throw bad(file, field, 'must be a table');
  checkKeys(file, field, m, ['location', 'insecure', 'pull-from-mirror']);
  const loc = str(file, `${field}.location`, m['location']);
  if (loc === undefined) throw bad(file, `${field}.location`, 'is required');
  const pull = str(file, `${field}.pull-from-mirror`, m['pull-from-mirror']) ?? 'all';
  if (!['all', 'digest-only', 'tag-only'].includes(pull)) {
    throw bad(file, `${field}.pull-from-mirror`, 'must be all, digest-only or tag-only');
  }
  return {
    location: place(file, `${field}.location`, loc, false),
    digestOnly: digestOnly || pull === 'digest-only',
    tagOnly: !digestOnly && pull === 'tag-only',
    insecure: bool(file, `${field}.insecure`, m['insecure']),
  };
}

/** Parses one registries.conf text; the rules keep the file order. */
export function parseRegistriesConf(text: string, file: string): MirrorRule[] {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    throw new BaleError(
      'E_MIRROR_CONFIG_INVALID',
      `${file}: not valid TOML at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]}`,
      { hint: HINT, details: { file, line: err.line } },
    );
  }
  if (doc['registries'] !== undefined && doc['registry'] === undefined) {
    throw bad(
      file,
      'registries',
      'this is the version 1 format, which has no mirrors; write [[registry]] tables',
    );
  }
  const list = doc['registry'];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw bad(file, 'registry', 'must be an array of tables ([[registry]])');
  return list.map((r, i) => {
    const field = `registry[${i}]`;
    if (!isTable(r)) throw bad(file, field, 'must be a table');
    checkKeys(file, field, r, [
      'prefix',
      'location',
      'insecure',
      'blocked',
      'mirror-by-digest-only',
      'mirror',
    ]);
    const location = str(file, `${field}.location`, r['location']);
    const prefix = str(file, `${field}.prefix`, r['prefix']) ?? location;
    if (prefix === undefined) throw bad(file, field, 'needs a prefix or a location');
    const wildcard = prefix.startsWith('*.');
    if (wildcard && location !== undefined && location !== '') {
      throw bad(file, `${field}.location`, 'is not allowed with a wildcard prefix');
    }
    const digestOnly = bool(file, `${field}.mirror-by-digest-only`, r['mirror-by-digest-only']);
    const mirrors = r['mirror'] ?? [];
    if (!Array.isArray(mirrors))
      throw bad(file, `${field}.mirror`, 'must be an array of tables ([[registry.mirror]])');
    const rule: MirrorRule = {
      prefix: place(file, `${field}.prefix`, prefix, true),
      mirrors: mirrors.map((m, j) => readMirror(file, `${field}.mirror[${j}]`, m, digestOnly)),
      neverContactSource: bool(file, `${field}.blocked`, r['blocked']),
      insecure: bool(file, `${field}.insecure`, r['insecure']),
      origin: `${file} (${field})`,
    };
    if (location !== undefined && location !== '' && location !== prefix) {
      rule.location = place(file, `${field}.location`, location, false);
    }
    return rule;
  });
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_BYTES) {
      throw new BaleError('E_MIRROR_CONFIG_INVALID', `${path}: larger than ${MAX_BYTES} bytes`, {
        hint: HINT,
      });
    }
    return buf.toString('utf8');
  } catch (err) {
    if (err instanceof BaleError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new BaleError('E_IO', `cannot read ${path}: ${messageOf(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
}

async function dropIns(dir: string | undefined): Promise<string[]> {
  if (dir === undefined) return [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new BaleError('E_IO', `cannot read ${dir}: ${messageOf(err)}`, {
      cause: err,
      details: { file: dir },
    });
  }
  return names
    .filter((n) => n.endsWith('.conf'))
    .sort()
    .map((n) => join(dir, n));
}

/** Loads the mirror rules from the usual locations, or from `path` alone. */
export async function loadRegistriesConf(loc: RegistriesConfLocations): Promise<MirrorSources> {
  const files: { path: string; required: boolean }[] = [];
  if (loc.path !== undefined) {
    files.push({ path: loc.path, required: true });
  } else {
    const user = loc.userPath !== undefined ? await readOptional(loc.userPath) : undefined;
    const main = user !== undefined ? loc.userPath : loc.systemPath;
    if (main !== undefined) files.push({ path: main, required: false });
    for (const p of [...(await dropIns(loc.systemDropInDir)), ...(await dropIns(loc.userDropInDir))]) {
      files.push({ path: p, required: false });
    }
  }
  const byPrefix = new Map<string, MirrorRule>();
  for (const f of files) {
    const text = await readOptional(f.path);
    if (text === undefined) {
      if (f.required) {
        throw new BaleError('E_IO', `cannot read ${f.path}: no such file`, {
          hint: 'Check the path given to --registries-conf.',
          details: { file: f.path },
        });
      }
      continue;
    }
    // A later file's [[registry]] replaces an earlier one with the same prefix.
    for (const rule of parseRegistriesConf(text, f.path)) {
      byPrefix.delete(rule.prefix);
      byPrefix.set(rule.prefix, rule);
    }
  }
  return new MirrorSources([...byPrefix.values()]);
}
