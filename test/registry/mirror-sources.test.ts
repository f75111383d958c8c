import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { MirrorSources, type SourceCandidate } from '../../src/registry/mirror-sources.js';
import { loadMirrorSetFile, parseMirrorSetFile } from '../../src/registry/mirror-set-file.js';
import {
  defaultRegistriesConfLocations,
  loadRegistriesConf,
  parseRegistriesConf,
} from '../../src/registry/registries-conf.js';
import { formatReference, parseReference } from '../../src/registry/reference.js';
import { mulberry32 } from '../helpers/prng.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const DIGEST = `sha256:${'c0'.repeat(32)}`;
const ART = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${DIGEST}`;

const IDMS = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: release-0
spec:
  imageDigestMirrors:
  - mirrors:
    - mirror.example.com:5000/ocp/release
    - backup.example.com/ocp/release
    source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
  - mirrors:
    - mirror.example.com:5000/ocp/release
    source: quay.io/openshift-release-dev/ocp-release
    mirrorSourcePolicy: NeverContactSource
`;

const ICSP = `apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata:
  name: example
spec:
  repositoryDigestMirrors:
  - mirrors:
    - icsp-mirror.example.com/ocp
    source: quay.io/openshift-release-dev
`;

const CONF = `unqualified-search-registries = ["registry.fedoraproject.org"]
short-name-mode = "enforcing"

[[registry]]
prefix = "quay.io/openshift-release-dev"
location = "quay.io/openshift-release-dev"

[[registry.mirror]]
location = "conf-mirror.example.com/ocp"

[[registry.mirror]]
location = "tags.example.com/ocp"
pull-from-mirror = "tag-only"

[[registry]]
location = "registry.example.com/team"
insecure = true
mirror-by-digest-only = true

[[registry.mirror]]
location = "digest-mirror.example.com/team"

[[registry]]
prefix = "*.internal.example"
blocked = true

[[registry.mirror]]
location = "wild-mirror.example.com"
`;

const refs = (cs: SourceCandidate[]): string[] => cs.map((c) => `${c.kind} ${formatReference(c.reference)}`);

function failure(f: () => unknown): { code: string; message: string; hint?: string } {
  try {
    f();
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('MirrorSources.candidates', () => {
  it('IDMS: mirrors in order, the original last, digest unchanged', () => {
    const sources = parseMirrorSetFile(IDMS, 'idms.yaml');
    expect(refs(sources.candidates(parseReference(ART)))).toEqual([
      `mirror mirror.example.com:5000/ocp/release@${DIGEST}`,
      `mirror backup.example.com/ocp/release@${DIGEST}`,
      `original ${ART}`,
    ]);
    expect(sources.candidates(parseReference(ART))[0]?.origin).toBe('idms.yaml (spec.imageDigestMirrors[0])');
  });

  it('IDMS NeverContactSource leaves the original out', () => {
    const sources = parseMirrorSetFile(IDMS, 'idms.yaml');
    expect(
      refs(sources.candidates(parseReference(`quay.io/openshift-release-dev/ocp-release@${DIGEST}`))),
    ).toEqual([`mirror mirror.example.com:5000/ocp/release@${DIGEST}`]);
  });

  it('digest-only mirrors are skipped for a reference by tag', () => {
    const sources = parseMirrorSetFile(IDMS, 'idms.yaml');
    expect(
      refs(sources.candidates(parseReference('quay.io/openshift-release-dev/ocp-v4.0-art-dev:4.18.1'))),
    ).toEqual(['original quay.io/openshift-release-dev/ocp-v4.0-art-dev:4.18.1']);
  });

  it('matches path boundaries only, and the longest prefix wins', () => {
    const sources = parseMirrorSetFile(ICSP, 'icsp.yaml').concat(parseMirrorSetFile(IDMS, 'idms.yaml'));
    // The IDMS rule is longer than the ICSP one for ocp-v4.0-art-dev: the ICSP mirror is not used.
    expect(refs(sources.candidates(parseReference(ART)))[0]).toBe(
      `mirror mirror.example.com:5000/ocp/release@${DIGEST}`,
    );
    expect(refs(sources.candidates(parseReference(ART)))).toHaveLength(3);
    // Another repository below the ICSP prefix keeps its path under the mirror.
    expect(
      refs(sources.candidates(parseReference(`quay.io/openshift-release-dev/other/sub@${DIGEST}`))),
    ).toEqual([
      `mirror icsp-mirror.example.com/ocp/other/sub@${DIGEST}`,
      `original quay.io/openshift-release-dev/other/sub@${DIGEST}`,
    ]);
    // quay.io/openshift-release-devX is not below quay.io/openshift-release-dev.
    expect(refs(sources.candidates(parseReference(`quay.io/openshift-release-devx/a@${DIGEST}`)))).toEqual([
      `original quay.io/openshift-release-devx/a@${DIGEST}`,
    ]);
  });

  it('rules with the same prefix from several files add their mirrors in load order', () => {
    const a = parseMirrorSetFile(ICSP, 'a.yaml');
    const b = parseMirrorSetFile(
      ICSP.replace('icsp-mirror.example.com/ocp', 'second.example.com/ocp'),
      'b.yaml',
    );
    expect(refs(a.concat(b).candidates(parseReference(`quay.io/openshift-release-dev/x@${DIGEST}`)))).toEqual(
      [
        `mirror icsp-mirror.example.com/ocp/x@${DIGEST}`,
        `mirror second.example.com/ocp/x@${DIGEST}`,
        `original quay.io/openshift-release-dev/x@${DIGEST}`,
      ],
    );
  });

  it('no rule: the original alone, and the set says it is not configured', () => {
    const none = new MirrorSources();
    expect(none.configured).toBe(false);
    expect(refs(none.candidates(parseReference(ART)))).toEqual([`original ${ART}`]);
  });

  it('registries.conf: mirrors, pull-from-mirror, mirror-by-digest-only, location, wildcard and blocked', () => {
    const sources = new MirrorSources(parseRegistriesConf(CONF, 'registries.conf'));
    expect(refs(sources.candidates(parseReference(ART)))).toEqual([
      `mirror conf-mirror.example.com/ocp/ocp-v4.0-art-dev@${DIGEST}`,
      `original ${ART}`,
    ]);
    expect(
      refs(sources.candidates(parseReference('quay.io/openshift-release-dev/ocp-release:4.18.1'))),
    ).toEqual([
      'mirror conf-mirror.example.com/ocp/ocp-release:4.18.1',
      'mirror tags.example.com/ocp/ocp-release:4.18.1',
      'original quay.io/openshift-release-dev/ocp-release:4.18.1',
    ]);
    const team = sources.candidates(parseReference(`registry.example.com/team/app@${DIGEST}`));
    expect(refs(team)).toEqual([
      `mirror digest-mirror.example.com/team/app@${DIGEST}`,
      `original registry.example.com/team/app@${DIGEST}`,
    ]);
    expect(team[1]?.insecure).toBe(true);
    expect(refs(sources.candidates(parseReference('registry.example.com/team/app:1')))).toEqual([
      'original registry.example.com/team/app:1',
    ]);
    expect(refs(sources.candidates(parseReference(`a.internal.example/x/y@${DIGEST}`)))).toEqual([
      `mirror wild-mirror.example.com/x/y@${DIGEST}`,
    ]);
  });

  it('a bare-host mirror that would replace a whole repository is an error naming the rule, not skipped', () => {
    const sources = parseMirrorSetFile(
      ICSP.replace('icsp-mirror.example.com/ocp', 'mirror.example.com'),
      'icsp.yaml',
    );
    // Below the source, the host takes the rest of the path: fine.
    expect(refs(sources.candidates(parseReference(`quay.io/openshift-release-dev/x@${DIGEST}`)))[0]).toBe(
      `mirror mirror.example.com/x@${DIGEST}`,
    );
    const wide = parseMirrorSetFile(
      IDMS.replace('- backup.example.com/ocp/release', '- backup.example.com'),
      'idms.yaml',
    );
    const e = failure(() => wide.candidates(parseReference(ART)));
    expect(e.code).toBe('E_MIRROR_CONFIG_INVALID');
    expect(e.message).toContain('idms.yaml (spec.imageDigestMirrors[0]): backup.example.com cannot hold');
  });

  it('registries.conf location rewrites where the original is', () => {
    const rules = parseRegistriesConf(
      '[[registry]]\nprefix = "example.com/foo"\nlocation = "internal.example.com/bar"\n',
      'r.conf',
    );
    expect(
      refs(new MirrorSources(rules).candidates(parseReference(`example.com/foo/app@${DIGEST}`))),
    ).toEqual([`original internal.example.com/bar/app@${DIGEST}`]);
  });
});

describe('mirror-set files (IDMS, ICSP)', () => {
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

describe('registries.conf', () => {
  it.each([
    ['bad TOML', '[[registry]\nprefix = "x"', 'not valid TOML at line 1'],
    [
      'an unknown registry key',
      '[[registry]]\nprefix = "quay.io/x"\nmirrors = []\n',
      'registry[0].mirrors: unknown key',
    ],
    [
      'an unknown mirror key',
      '[[registry]]\nprefix = "quay.io/x"\n[[registry.mirror]]\nlocation = "m.example.com/x"\nsecure = true\n',
      'registry[0].mirror[0].secure: unknown key',
    ],
    [
      'a mirror without location',
      '[[registry]]\nprefix = "quay.io/x"\n[[registry.mirror]]\ninsecure = true\n',
      'registry[0].mirror[0].location: is required',
    ],
    [
      'a bad pull-from-mirror',
      '[[registry]]\nprefix = "quay.io/x"\n[[registry.mirror]]\nlocation = "m.example.com/x"\npull-from-mirror = "some"\n',
      'must be all, digest-only or tag-only',
    ],
    [
      'neither prefix nor location',
      '[[registry]]\ninsecure = true\n',
      'registry[0]: needs a prefix or a location',
    ],
    [
      'a location with a wildcard prefix',
      '[[registry]]\nprefix = "*.example.com"\nlocation = "x.example.com"\n',
      'is not allowed with a wildcard prefix',
    ],
    ['the v1 format', '[registries.search]\nregistries = ["docker.io"]\n', 'version 1 format'],
    [
      'a string for a boolean',
      '[[registry]]\nprefix = "quay.io/x"\nblocked = "yes"\n',
      'registry[0].blocked: must be true or false',
    ],
  ])('refuses %s', (_n, text, expected) => {
    const e = failure(() => parseRegistriesConf(text, 'r.conf'));
    expect(e.code).toBe('E_MIRROR_CONFIG_INVALID');
    expect(e.message).toContain(`r.conf: `);
    expect(e.message).toContain(expected);
  });

  it('hostile bytes: truncations and byte flips give rules or E_MIRROR_CONFIG_INVALID', () => {
    const bytes = Buffer.from(CONF);
    const rand = mulberry32(9);
    const inputs: string[] = [];
    for (let n = 0; n < bytes.length; n += 3) inputs.push(bytes.subarray(0, n).toString('utf8'));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 2; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b.toString('latin1'));
    }
    for (const text of inputs) {
      try {
        parseRegistriesConf(text, 'r.conf');
      } catch (err) {
        expect(isBaleError(err, 'E_MIRROR_CONFIG_INVALID'), String(err)).toBe(true);
      }
    }
  });

  describe('locations', () => {
    let home: string;
    beforeEach(async () => {
      home = await makeTempDir('bale-home-');
    });
    afterEach(async () => {
      await removeTempDir(home);
    });

    const conf = (mirror: string): string =>
      `[[registry]]\nprefix = "quay.io/openshift-release-dev"\n[[registry.mirror]]\nlocation = "${mirror}"\n`;

    it('the user file replaces the system one; drop-ins in name order replace rules with the same prefix', async () => {
      const sys = join(home, 'etc');
      await mkdir(join(sys, 'registries.conf.d'), { recursive: true });
      await writeFile(join(sys, 'registries.conf'), conf('system.example.com/ocp'));
      const loc = {
        ...defaultRegistriesConfLocations(home),
        systemPath: join(sys, 'registries.conf'),
        systemDropInDir: join(sys, 'registries.conf.d'),
      };
      const first = (s: Awaited<ReturnType<typeof loadRegistriesConf>>): string =>
        formatReference(s.candidates(parseReference(ART))[0]!.reference);

      expect(first(await loadRegistriesConf(loc))).toBe(`system.example.com/ocp/ocp-v4.0-art-dev@${DIGEST}`);
      await mkdir(join(home, '.config/containers'), { recursive: true });
      await writeFile(loc.userPath, conf('user.example.com/ocp'));
      expect(first(await loadRegistriesConf(loc))).toBe(`user.example.com/ocp/ocp-v4.0-art-dev@${DIGEST}`);
      await writeFile(join(sys, 'registries.conf.d', '20-b.conf'), conf('b.example.com/ocp'));
      await writeFile(join(sys, 'registries.conf.d', '10-a.conf'), conf('a.example.com/ocp'));
      await writeFile(join(sys, 'registries.conf.d', 'ignored.txt'), 'not toml [');
      expect(first(await loadRegistriesConf(loc))).toBe(`b.example.com/ocp/ocp-v4.0-art-dev@${DIGEST}`);
    });

    it('nothing at the usual places is no rule; an explicit path must exist', async () => {
      const loc = defaultRegistriesConfLocations(home);
      const none = await loadRegistriesConf({ userPath: loc.userPath, userDropInDir: loc.userDropInDir });
      expect(none.configured).toBe(false);
      const e = await loadRegistriesConf({ path: join(home, 'missing.conf') }).catch((err: unknown) => err);
      expect(isBaleError(e, 'E_IO')).toBe(true);
      expect(String((e as Error).message)).toContain('missing.conf');
    });

    it('loadMirrorSetFile reads a file and names a missing one', async () => {
      const p = join(home, 'idms.yaml');
      await writeFile(p, IDMS);
      expect((await loadMirrorSetFile(p, 'ImageDigestMirrorSet')).rules).toHaveLength(2);
      const e = await loadMirrorSetFile(join(home, 'nope.yaml')).catch((err: unknown) => err);
      expect(isBaleError(e, 'E_IO')).toBe(true);
    });
  });
});
