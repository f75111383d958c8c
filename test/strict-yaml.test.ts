/** Strict YAML: every problem names the file, the field path and the line. */
import { describe, expect, it } from 'vitest';
import { formatPath, YamlSource, type StrictYamlOptions } from '../src/strict-yaml.js';

const OPTS: StrictYamlOptions = { code: 'E_IMAGESET_INVALID', hint: 'Fix the image set.' };
const parse = (text: string, o: Partial<StrictYamlOptions> = {}): YamlSource =>
  YamlSource.parse(text, 'isc.yaml', { ...OPTS, ...o });

/** The error a throwing call ends with, as code, message, hint and details. */
function failure(fn: () => unknown): { code: string; message: string; hint?: string; details: unknown } {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; message: string; hint?: string; details: unknown };
    return { code: e.code, message: e.message, hint: e.hint, details: e.details };
  }
  throw new Error('expected a failure');
}

describe('formatPath', () => {
  it('dots for keys, brackets for indexes, (document) for the root', () => {
    expect(formatPath([])).toBe('(document)');
    expect(formatPath(['mirror', 'platform', 'channels', 0, 'minVersion'])).toBe(
      'mirror.platform.channels[0].minVersion',
    );
    expect(formatPath([0, 'name'])).toBe('[0].name');
  });
});

describe('YamlSource.parse', () => {
  it('refuses what is not one document of plain text, naming the file', () => {
    expect(failure(() => parse('a: 1\n---\nb: 2\n'))).toMatchObject({
      code: 'E_IMAGESET_INVALID',
      message: 'isc.yaml: holds 2 YAML documents; one is expected',
      hint: 'Fix the image set.',
      details: { file: 'isc.yaml' },
    });
    expect(failure(() => parse('')).message).toBe('isc.yaml: is empty');
    expect(failure(() => parse('---\n---\n')).message).toBe('isc.yaml: is empty');
    expect(failure(() => parse('a: 1\0')).message).toMatch(/NUL character/);
    expect(failure(() => parse('a: 123456', { maxChars: 5 })).message).toBe(
      'isc.yaml: larger than 5 characters',
    );
  });

  it('refuses duplicate keys and bad syntax with line and column', () => {
    expect(failure(() => parse('a: 1\nb: 2\na: 3\n')).message).toMatch(
      /^isc\.yaml: is not valid YAML at line 3, column 1: /,
    );
    expect(failure(() => parse('a: [1, 2\nb: 3\n')).message).toMatch(
      /^isc\.yaml: is not valid YAML at line \d+, column \d+/,
    );
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    expect(failure(() => parse(lines.join('\n'))).message).toMatch(/^isc\.yaml: cannot be read: /);
  });

  it('parseAll labels the second and later documents in their errors', () => {
    const docs = YamlSource.parseAll('a: 1\n---\n\n---\nb: x\n', 'm.yaml', OPTS);
    expect(docs).toHaveLength(2);
    const err = failure(() => docs[1]!.top().at('b').bool(false));
    expect(err.message).toBe('m.yaml (document 3): b: must be true or false, not string "x" (line 5)');
  });
});

describe('Field', () => {
  const src = parse(
    [
      'mirror:',
      '  platform:',
      '    channels:',
      '      - name: stable-4.18',
      '        minVersion: 4',
      '    graph: yes',
    ].join('\n'),
  );

  it('walks typed values and names the path and line of a wrong type', () => {
    const channel = src.top().at('mirror').at('platform').at('channels').list()[0]!;
    expect(channel.at('name').string()).toBe('stable-4.18');
    expect(failure(() => channel.at('minVersion').string())).toMatchObject({
      message:
        'isc.yaml: mirror.platform.channels[0].minVersion: must be a non-empty string, not number 4 (line 5)',
      details: { file: 'isc.yaml', field: 'mirror.platform.channels[0].minVersion', line: 5 },
    });
    expect(failure(() => src.top().at('mirror').at('platform').at('graph').bool(false)).message).toBe(
      'isc.yaml: mirror.platform.graph: must be true or false, not string "yes" (line 6)',
    );
  });

  it('absent values: required strings fail, optional ones and lists and bools have defaults', () => {
    const top = src.top();
    expect(failure(() => top.at('nothing').string()).message).toBe('isc.yaml: nothing: is required');
    expect(top.at('nothing').optString()).toBeUndefined();
    expect(top.at('nothing').list()).toEqual([]);
    expect(top.at('nothing').bool(true)).toBe(true);
    expect(failure(() => top.at('mirror').list()).message).toBe(
      'isc.yaml: mirror: must be a list, not a mapping (line 2)',
    );
  });

  it('mapping() refuses unknown fields at the key line, listing the known ones, and refused fields with their reason', () => {
    const mirror = src.top().at('mirror');
    expect(failure(() => mirror.at('platform').mapping(['channels']))).toMatchObject({
      message: 'isc.yaml: mirror.platform.graph: unknown field "graph" (line 6)',
      hint: expect.stringContaining('Known fields here: channels.'),
    });
    expect(failure(() => mirror.mapping([], { platform: 'bale does not carry platforms' })).message).toBe(
      'isc.yaml: mirror.platform: bale does not carry platforms (line 2)',
    );
    expect(failure(() => mirror.at('platform').at('channels').mapping([])).message).toMatch(
      /must be a mapping, not a list/,
    );
    expect(Object.keys(mirror.mapping(['platform']))).toEqual(['platform']);
  });
});
