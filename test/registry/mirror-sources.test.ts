import { describe, expect, it } from 'vitest';
import { MirrorSources, type SourceCandidate } from '../../src/registry/mirror-sources.js';
import { parseMirrorSetFile } from '../../src/registry/mirror-set-file.js';
import { parseRegistriesConf } from '../../src/registry/registries-conf.js';
import { formatReference, parseReference } from '../../src/registry/reference.js';
import { ART, CONF, DIGEST, failure, ICSP, IDMS } from './mirror-config-fixtures.js';

const refs = (cs: SourceCandidate[]): string[] => cs.map((c) => `${c.kind} ${formatReference(c.reference)}`);

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
