/** containers registries.conf mirror tables: parsing, and the files read from the usual places. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import {
  defaultRegistriesConfLocations,
  loadRegistriesConf,
  parseRegistriesConf,
} from '../../src/registry/registries-conf.js';
import { formatReference, parseReference } from '../../src/registry/reference.js';
import { mulberry32 } from '../helpers/prng.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { ART, CONF, DIGEST, failure } from './mirror-config-fixtures.js';

describe('registries.conf', () => {
  it('reads [[registry]] field by field; keys outside it are not about mirrors', () => {
    const rules = parseRegistriesConf(CONF, 'r.conf');
    expect(rules.map((r) => [r.prefix, r.location, r.neverContactSource, r.insecure, r.origin])).toEqual([
      ['quay.io/openshift-release-dev', undefined, false, false, 'r.conf (registry[0])'],
      ['registry.example.com/team', undefined, false, true, 'r.conf (registry[1])'],
      ['*.internal.example', undefined, true, false, 'r.conf (registry[2])'],
    ]);
    expect(rules[0]?.mirrors).toEqual([
      { location: 'conf-mirror.example.com/ocp', digestOnly: false, tagOnly: false, insecure: false },
      { location: 'tags.example.com/ocp', digestOnly: false, tagOnly: true, insecure: false },
    ]);
    // mirror-by-digest-only makes every mirror of the rule digest-only
    expect(rules[1]?.mirrors).toEqual([
      { location: 'digest-mirror.example.com/team', digestOnly: true, tagOnly: false, insecure: false },
    ]);
    expect(parseRegistriesConf('unqualified-search-registries = ["docker.io"]\n', 'r.conf')).toEqual([]);
    expect(parseRegistriesConf('', 'r.conf')).toEqual([]);
  });

  it('keeps a location that differs from the prefix', () => {
    const [rule] = parseRegistriesConf(
      '[[registry]]\nprefix = "example.com/foo"\nlocation = "internal.example.com/bar"\n',
      'r.conf',
    );
    expect(rule).toMatchObject({ prefix: 'example.com/foo', location: 'internal.example.com/bar' });
  });

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
      expect((e as { hint: string }).hint).toMatch(/--registries-conf/);
    });

    it('E_IO naming the path when it cannot be read (a directory); E_MIRROR_CONFIG_INVALID over 1 MiB', async () => {
      await expect(loadRegistriesConf({ path: home })).rejects.toMatchObject({
        code: 'E_IO',
        details: { file: home },
      });
      const big = join(home, 'big.conf');
      await writeFile(big, `# ${'x'.repeat(1024 * 1024)}\n`);
      await expect(loadRegistriesConf({ path: big })).rejects.toMatchObject({
        code: 'E_MIRROR_CONFIG_INVALID',
        message: `${big}: larger than ${1024 * 1024} bytes`,
      });
    });
  });
});
