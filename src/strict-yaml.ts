/**
 * Strict reading of small YAML (or JSON) configuration files: exactly one document,
 * no duplicate keys, and a typed walk over the value that names the file, the field
 * path (`mirror.platform.channels[0].minVersion`) and the line of every problem.
 * Unknown fields are an error, never ignored.
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { BaleError, type ErrorCode } from './errors.js';

export type FieldPath = readonly (string | number)[];

/** `a.b[0].c`; the document root is `(document)`. */
export function formatPath(path: FieldPath): string {
  if (path.length === 0) return '(document)';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

export interface StrictYamlOptions {
  /** The error code of every problem found (e.g. E_IMAGESET_INVALID). */
  code: ErrorCode;
  /** What to do, for problems without a more precise hint. */
  hint: string;
  /** Largest accepted text, in characters (default 4 Mi). */
  maxChars?: number;
}

const DEFAULT_MAX_CHARS = 4 * 1024 * 1024;

/** One parsed YAML document with its source positions. */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly options: StrictYamlOptions,
    private readonly doc: Document.Parsed | undefined,
    private readonly lines: LineCounter,
    readonly root: unknown,
    /** ` (document N)` for the second and later documents of a stream, else empty. */
    readonly documentLabel = '',
  ) {}

  /** Parses `text` (read from `file`); throws options.code on bad YAML or several documents. */
  static parse(text: string, file: string, options: StrictYamlOptions): YamlSource {
    const docs = YamlSource.parseAll(text, file, options);
    if (docs.length > 1) throw failure(file, options, `holds ${docs.length} YAML documents; one is expected`);
    return docs[0]!;
  }

  /** Every document of a `---`-separated stream (empty documents skipped; none at all is an error). */
  static parseAll(text: string, file: string, options: StrictYamlOptions): YamlSource[] {
    const max = options.maxChars ?? DEFAULT_MAX_CHARS;
    const fail = (what: string): BaleError => failure(file, options, what);
    if (text.length > max) throw fail(`larger than ${max} characters`);
    if (text.includes('\0')) throw fail('contains a NUL character: not a text file');
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { prettyErrors: false, lineCounter: lines, uniqueKeys: true });
    const out: YamlSource[] = [];
    for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
      const at = i > 0 ? ` (document ${i + 1})` : '';
      const err = doc.errors[0];
      if (err !== undefined) {
        const pos = lines.linePos(err.pos[0]);
        throw fail(
          `is not valid YAML${at} at line ${pos.line}, column ${pos.col}: ${firstLine(err.message)}`,
        );
      }
      let root: unknown;
      try {
        root = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        throw fail(`cannot be read${at}: ${e instanceof Error ? firstLine(e.message) : String(e)}`);
      }
      if (root === null || root === undefined) continue;
      out.push(new YamlSource(file, options, doc, lines, root, at));
    }
    if (out.length === 0) throw fail('is empty');
    return out;
  }

  /** Line and column of the value (or, with `key`, of the key) at `path`, when known. */
  position(path: FieldPath, key = false): { line: number; col: number } | undefined {
    if (this.doc === undefined) return undefined;
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    let node: unknown;
    if (key && last !== undefined) {
      const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(parentPath, true);
      const items = (parent as { items?: { key?: { value?: unknown; range?: number[] } }[] } | null)?.items;
      node = items?.find((p) => p.key?.value === last)?.key;
    } else {
      node = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    }
    const range = (node as { range?: number[] } | null | undefined)?.range;
    if (range === undefined || range[0] === undefined) return undefined;
    return this.lines.linePos(range[0]);
  }

  /** An error naming the file, the field path and its line. */
  error(path: FieldPath, what: string, hint?: string, key = false): BaleError {
    const pos = this.position(path, key);
    const at = pos === undefined ? '' : ` (line ${pos.line})`;
    return new BaleError(
      this.options.code,
      `${this.file}${this.documentLabel}: ${formatPath(path)}: ${what}${at}`,
      {
        hint: hint ?? this.options.hint,
        details: {
          file: this.file,
          field: formatPath(path),
          ...(pos !== undefined ? { line: pos.line } : {}),
        },
      },
    );
  }

  /** The typed walker at the document root. */
  top(): Field {
    return new Field(this, this.root, []);
  }
}

function failure(file: string, options: StrictYamlOptions, what: string): BaleError {
  return new BaleError(options.code, `${file}: ${what}`, { hint: options.hint, details: { file } });
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A value at a field path, with typed accessors that throw the source's error. */
export class Field {
  constructor(
    readonly src: YamlSource,
    readonly value: unknown,
    readonly path: FieldPath,
  ) {}

  get name(): string {
    return formatPath(this.path);
  }

  fail(what: string, hint?: string): BaleError {
    return this.src.error(this.path, what, hint);
  }

  /**
   * This value as a mapping whose keys are all in `allowed`. For a key in
   * `refused`, the error is refused[key] (e.g. "bale does not carry operators").
   */
  mapping(
    allowed: readonly string[],
    refused: Readonly<Record<string, string>> = {},
  ): Record<string, unknown> {
    const v = this.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Map || v instanceof Set) {
      throw this.fail(`must be a mapping, not ${describe(v)}`);
    }
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const why = refused[k];
      if (why !== undefined) throw this.src.error([...this.path, k], why, undefined, true);
      if (!allowed.includes(k)) {
        throw this.src.error(
          [...this.path, k],
          `unknown field ${JSON.stringify(k)}`,
          `Known fields here: ${allowed.join(', ')}. Check the spelling; bale does not ignore fields it does not know.`,
          true,
        );
      }
    }
    return rec;
  }

  /** The field `key` of this mapping (undefined value when absent). */
  at(key: string | number): Field {
    const v = this.value as Record<string | number, unknown> | unknown[] | null;
    const child =
      v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[key];
    return new Field(this.src, child, [...this.path, key]);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  string(): string {
    if (typeof this.value !== 'string' || this.value === '') {
      throw this.fail(
        this.present ? `must be a non-empty string, not ${describe(this.value)}` : 'is required',
      );
    }
    return this.value;
  }

  optString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  bool(fallback: boolean): boolean {
    if (!this.present) return fallback;
    if (typeof this.value !== 'boolean')
      throw this.fail(`must be true or false, not ${describe(this.value)}`);
    return this.value;
  }

  /** The items of a list (an absent field is an empty list). */
  list(): Field[] {
    if (!this.present) return [];
    if (!Array.isArray(this.value)) throw this.fail(`must be a list, not ${describe(this.value)}`);
    return this.value.map((_, i) => this.at(i));
  }
}
