/** Mirror-set files (ImageDigestMirrorSet, ImageContentSourcePolicy) as oc writes them. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { loadMirrorSetFile, parseMirrorSetFile } from '../../src/registry/mirror-set-file.js';
import { parseReference } from '../../src/registry/reference.js';
import { mulberry32 } from '../helpers/prng.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { DIGEST, failure, ICSP, IDMS } from './mirror-config-fixtures.js';

describe('mirror-set files (IDMS, ICSP)', () => {
  it('reads each entry field by field: source, mirrors (digest only), policy, where it came from', () => {
    const idms = parseMirrorSetFile(IDMS, 'idms.yaml').rules;
    expect(idms).toEqual([
      {
        prefix: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
        mirrors: [
          {
            location: 'mirror.example.com:5000/ocp/release',
            digestOnly: true,
            tagOnly: false,
            insecure: false,
          },
          { location: 'backup.example.com/ocp/release', digestOnly: true, tagOnly: false, insecure: false },
        ],
        neverContactSource: false,
        origin: 'idms.yaml (spec.imageDigestMirrors[0])',
      },
      {
        prefix: 'quay.io/openshift-release-dev/ocp-release',
        mirrors: [
          {
            location: 'mirror.example.com:5000/ocp/release',
            digestOnly: true,
            tagOnly: false,
            insecure: false,
          },
        ],
        neverContactSource: true,
        origin: 'idms.yaml (spec.imageDigestMirrors[1])',
      },
    ]);
    const icsp = parseMirrorSetFile(ICSP, 'icsp.yaml', 'ImageContentSourcePolicy').rules;
    expect(icsp.map((r) => [r.prefix, r.mirrors.map((m) => m.location), r.neverContactSource])).toEqual([
      ['quay.io/openshift-release-dev', ['icsp-mirror.example.com/ocp'], false],
    ]);
  });

  it('an IDMS entry with no mirrors is allowed only with NeverContactSource; ICSP has no policy field', () => {
    const blocked = IDMS.replace(
      '  - mirrors:\n    - mirror.example.com:5000/ocp/release\n    source: quay.io/openshift-release-dev/ocp-release\n',
      '  - mirrors: []\n    source: quay.io/openshift-release-dev/ocp-release\n',
    );
    expect(blocked).not.toBe(IDMS);
    expect(parseMirrorSetFile(blocked, 'b.yaml').rules[1]).toMatchObject({
      mirrors: [],
      neverContactSource: true,
    });
    const icspPolicy = ICSP.replace('    source:', '    mirrorSourcePolicy: NeverContactSource\n    source:');
    expect(failure(() => parseMirrorSetFile(icspPolicy, 'i.yaml')).message).toContain(
      'spec.repositoryDigestMirrors[0].mirrorSourcePolicy: unknown field',
    );
  });

  it('a kind: List may not nest items in its members, and an empty file is an error, not an empty rule set', () => {
    expect(failure(() => parseMirrorSetFile('', 'empty.yaml'))).toMatchObject({
      code: 'E_MIRROR_CONFIG_INVALID',
      message: 'empty.yaml: is empty',
    });
    const withItems = IDMS.replace('spec:', 'items: []\nspec:');
    expect(failure(() => parseMirrorSetFile(withItems, 'x.yaml')).message).toContain(
      'items: is only allowed in a kind: List',
    );
  });

  it('reads several documents and a kind: List', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${ICSP.trim().split('\n').join('\n  ')}\n`;
    expect(parseMirrorSetFile(`${IDMS}---\n${ICSP}`, 'two.yaml').rules).toHaveLength(3);
    expect(parseMirrorSetFile(list, 'list.yaml').rules).toHaveLength(1);
  });

  it.each([
    [
      'an unknown spec field',
      IDMS.replace('  imageDigestMirrors:', '  imageTagMirrors: []\n  imageDigestMirrors:'),
      'spec.imageTagMirrors: unknown field',
    ],
    [
      'an unknown entry field',
      IDMS.replace(
        '    source: quay.io/openshift-release-dev/ocp-release',
        '    source: quay.io/openshift-release-dev/ocp-release\n    allowMirrorByTags: true',
      ),
      'spec.imageDigestMirrors[1].allowMirrorByTags: unknown field',
    ],
    [
      'a source with a scheme',
      IDMS.replace('source: quay.io/openshift-release-dev/ocp-v4.0-art-dev', 'source: https://quay.io/x'),
      'has a URL scheme',
    ],
    [
      'a mirror with a digest',
      IDMS.replace('- backup.example.com/ocp/release', `- backup.example.com/ocp/release@${DIGEST}`),
      'is not a repository path',
    ],
    [
      'a wildcard mirror',
      IDMS.replace('- backup.example.com/ocp/release', '- "*.example.com"'),
      'is a wildcard, which is not allowed here',
    ],
    [
      'a bad policy',
      IDMS.replace('NeverContactSource', 'Never'),
      'mirrorSourcePolicy: must be AllowContactingSource or NeverContactSource',
    ],
    [
      'no mirrors',
      ICSP.replace('  - mirrors:\n    - icsp-mirror.example.com/ocp\n', '  - mirrors: []\n'),
      'mirrors: is empty',
    ],
    [
      'another kind',
      IDMS.replace('kind: ImageDigestMirrorSet', 'kind: ImageTagMirrorSet'),
      'kind: is "ImageTagMirrorSet"',
    ],
    [
      'a wrong apiVersion',
      ICSP.replace('operator.openshift.io/v1alpha1', 'config.openshift.io/v1'),
      'a ImageContentSourcePolicy is operator.openshift.io/v1alpha1',
    ],
    ['bad YAML', `${IDMS}  - [`, 'is not valid YAML'],
  ])('refuses %s, naming file and field', (_n, text, expected) => {
    const e = failure(() => parseMirrorSetFile(text, 'm.yaml'));
    expect(e.code).toBe('E_MIRROR_CONFIG_INVALID');
    expect(e.message).toContain('m.yaml');
    expect(e.message).toContain(expected);
  });

  it('an ICSP given as --idms-file says which option to use', () => {
    const e = failure(() => parseMirrorSetFile(ICSP, 'icsp.yaml', 'ImageDigestMirrorSet'));
    expect(e.message).toContain('kind: is ImageContentSourcePolicy, but this file was given as --idms-file');
    expect(e.hint).toBe('Give it with --icsp-file.');
  });

  it('a second document names its number', () => {
    const e = failure(() =>
      parseMirrorSetFile(`${IDMS}---\n${ICSP.replace('source:', 'sauce:')}`, 'two.yaml'),
    );
    expect(e.message).toContain(
      'two.yaml (document 2): spec.repositoryDigestMirrors[0].sauce: unknown field',
    );
  });

  it('hostile bytes: truncations and byte flips give rules or E_MIRROR_CONFIG_INVALID', () => {
    const bytes = Buffer.from(IDMS);
    const rand = mulberry32(5);
    const inputs: string[] = [];
    for (let n = 0; n < bytes.length; n += 3) inputs.push(bytes.subarray(0, n).toString('utf8'));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 2; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b.toString('latin1'));
    }
    for (const text of inputs) {
      try {
        const s = parseMirrorSetFile(text, 'm.yaml');
        for (const r of s.rules) s.candidates(parseReference(`${r.prefix.replace('*.', 'x.')}/a@${DIGEST}`));
      } catch (err) {
        expect(
          isBaleError(err, 'E_MIRROR_CONFIG_INVALID') || isBaleError(err, 'E_REFERENCE'),
          String(err),
        ).toBe(true);
      }
    }
  });
});

describe('loadMirrorSetFile', () => {
  let home: string;
  beforeEach(async () => {
    home = await makeTempDir('bale-msf-');
  });
  afterEach(async () => {
    await removeTempDir(home);
  });

  it('loadMirrorSetFile reads a file and names a missing one', async () => {
    const p = join(home, 'idms.yaml');
    await writeFile(p, IDMS);
    expect((await loadMirrorSetFile(p, 'ImageDigestMirrorSet')).rules).toHaveLength(2);
    const e = await loadMirrorSetFile(join(home, 'nope.yaml')).catch((err: unknown) => err);
    expect(isBaleError(e, 'E_IO')).toBe(true);
    expect((e as { message: string; hint: string }).message).toContain('nope.yaml');
    expect((e as { hint: string }).hint).toMatch(/--idms-file or --icsp-file/);
  });

  it('refuses a file over 4 MiB before parsing it', async () => {
    const p = join(home, 'huge.yaml');
    await writeFile(p, `${IDMS}#${'x'.repeat(4 * 1024 * 1024)}\n`);
    await expect(loadMirrorSetFile(p)).rejects.toMatchObject({
      code: 'E_MIRROR_CONFIG_INVALID',
      message: `${p}: larger than ${4 * 1024 * 1024} bytes`,
    });
  });
});
