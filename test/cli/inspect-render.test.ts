/** `bale inspect`'s renderings of a report (table, CSV, JSON, YAML), from plain report data. */
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderCsv, renderJson, renderTable, renderYaml } from '../../src/cli/inspect-render.js';
import type { InspectReport } from '../../src/workflows/inspect/index.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

function report(extra: Partial<InspectReport> = {}): InspectReport {
  const release = {
    version: '4.18.1',
    architecture: 'x86_64',
    digest: d('a'),
    source: 'quay.io/openshift-release-dev/ocp-release',
    tag: '4.18.1-x86_64',
  };
  return {
    dir: '/media/usb/bundle',
    schema: 'bale/v1',
    baleVersion: '0.1.0',
    created: '2026-11-30T08:00:00Z',
    volumeSize: 4095 * 1024 * 1024,
    release,
    releases: [release],
    graphs: [],
    images: [
      {
        name: 'release',
        repository: 'openshift/release',
        source: 'quay.io/openshift-release-dev/ocp-release',
        digest: d('a'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 512,
        tags: ['4.18.1-x86_64'],
      },
      {
        name: 'a long component name',
        repository: 'openshift/release',
        source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
        digest: d('b'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 5 * 1024 * 1024,
        tags: ['x', 'y'],
      },
    ],
    volumes: [
      { name: 'bale-0001.tar.zst', size: 3 * 1024 * 1024 * 1024, sha256: 'f'.repeat(64), entries: 12 },
    ],
    signatures: [
      {
        path: 'signatures/a/signature-1',
        kind: 'release',
        keyId: '199E2F91FD431D51',
        identity: 'quay.io/x',
        verified: true,
      },
      { path: 'signatures/a/signature-2', kind: 'release' },
      { path: 'signatures/a/signature-3', kind: 'release', verified: false, reason: 'unknown key' },
    ],
    manifests: [],
    totals: { images: 2, volumes: 1, bytes: 3 * 1024 * 1024 * 1024, entries: 12 },
    ...extra,
  };
}

describe('renderTable', () => {
  it('a header block, then aligned IMAGES, VOLUMES and SIGNATURES tables', () => {
    const text = renderTable(report());
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      `Release   4.18.1 (x86_64)  ${d('a')}`,
      'Source    quay.io/openshift-release-dev/ocp-release',
      'Created   2026-11-30T08:00:00Z by bale 0.1.0',
      'Total     2 images, 1 volumes, 3.0 GiB',
    ]);
    const images = lines.slice(lines.indexOf('IMAGES') + 1, lines.indexOf('IMAGES') + 4);
    expect(images).toEqual([
      'NAME                   DIGEST               SIZE     TAGS',
      `release                ${d('a').slice(0, 19)}  512 B    4.18.1-x86_64`,
      `a long component name  ${d('b').slice(0, 19)}  5.0 MiB  x,y`,
    ]);
    expect(lines.slice(lines.indexOf('VOLUMES') + 1, lines.indexOf('VOLUMES') + 3)).toEqual([
      'NAME               SIZE     ENTRIES',
      'bale-0001.tar.zst  3.0 GiB  12',
    ]);
    const sigs = lines.slice(lines.indexOf('SIGNATURES') + 1, lines.indexOf('SIGNATURES') + 5);
    expect(sigs.map((l) => l.split(/\s{2,}/).at(-1))).toEqual([
      'VERIFIED',
      'yes',
      'not checked',
      'NO (unknown key)',
    ]);
    expect(text.endsWith('\n')).toBe(true);
    // no trailing blanks on any line
    for (const l of lines) expect(l).toBe(l.trimEnd());
  });

  it('update graphs, graph data, base, manifests and the verification, when present', () => {
    const text = renderTable(
      report({
        graphs: [
          {
            path: 'graph/stable-4.18-amd64.json',
            channel: 'stable-4.18',
            arch: 'amd64',
            source: 'https://api.openshift.com/api/upgrades_info/graph',
            sha256: 'e'.repeat(64),
            releases: ['4.17.9', '4.18.1'],
          },
        ],
        graphData: { revision: 'abc123', digest: d('c'), tag: 'latest' },
        base: {
          kind: 'snapshot',
          file: 'mirror.yaml',
          sha256: '1'.repeat(64),
          digests: 2,
          bytes: 1024,
          blobs: [
            { digest: d('d'), repository: 'openshift/release', size: 1024, mountTo: ['team/a', 'team/b'] },
            { digest: d('e'), repository: 'openshift/release' },
          ],
        },
        manifests: ['signatures/sha256-a.yaml'],
        verification: { ok: false, problems: [{ code: 'E_BUNDLE_CORRUPT', message: 'volume 1 is short' }] },
      }),
    );
    expect(text).toContain(
      'Update    stable-4.18 (amd64): 4.17.9 → 4.18.1  graph/stable-4.18-amd64.json from https://api.openshift.com/api/upgrades_info/graph',
    );
    expect(text).toContain(`Graph     revision abc123  ${d('c')}`);
    expect(text).toContain(
      `Base      incremental: 2 blob(s), 1.0 KiB expected at the destination, from snapshot mirror.yaml (sha256 ${'1'.repeat(64)})`,
    );
    expect(text).toContain('BASE (expected at the destination, not carried)');
    expect(text).toMatch(new RegExp(`openshift/release  ${d('d').slice(0, 19)}  1.0 KiB  team/a,team/b\\n`));
    expect(text).toMatch(new RegExp(`openshift/release  ${d('e').slice(0, 19)}  \\?\\n`));
    expect(text).toContain('MANIFESTS (unpack --apply-manifests)\n  signatures/sha256-a.yaml');
    expect(text).toContain('VERIFY    1 problem(s)\n  E_BUNDLE_CORRUPT  volume 1 is short');
    expect(renderTable(report({ verification: { ok: true, problems: [] } }))).toContain('VERIFY    ok');
    expect(renderTable(report())).not.toContain('VERIFY');
  });

  it('a bundle without a release (images only) starts with Created', () => {
    const text = renderTable(report({ release: undefined, releases: [] }));
    expect(text.split('\n')[0]).toBe('Created   2026-11-30T08:00:00Z by bale 0.1.0');
  });
});

describe('renderCsv', () => {
  it('one row per image with a fixed header; tags space-separated', () => {
    expect(renderCsv(report()).split('\n')).toEqual([
      'name,repository,source,digest,mediaType,size,tags',
      `release,openshift/release,quay.io/openshift-release-dev/ocp-release,${d('a')},application/vnd.oci.image.manifest.v1+json,512,4.18.1-x86_64`,
      `a long component name,openshift/release,quay.io/openshift-release-dev/ocp-v4.0-art-dev,${d('b')},application/vnd.oci.image.manifest.v1+json,5242880,x y`,
      '',
    ]);
  });

  it('quotes fields with commas, quotes and line breaks (RFC 4180), so a hostile name cannot add a row', () => {
    const r = report();
    r.images = [{ ...r.images[0]!, name: 'evil,"name"\nnext,row', tags: ['a,b'] }];
    const csv = renderCsv(r);
    expect(csv).toContain('"evil,""name""\nnext,row",openshift/release');
    expect(csv).toContain(',"a,b"\n');
    // parse it back: two records, seven fields each
    const records = parseCsv(csv);
    expect(records).toHaveLength(2);
    expect(records[1]).toHaveLength(7);
    expect(records[1]?.[0]).toBe('evil,"name"\nnext,row');
    const cr = renderCsv(report({ images: [{ ...r.images[0]!, name: 'cr\rname' }] }));
    expect(cr).toContain('\n"cr\rname",'); // a lone CR ends a record for some readers
    expect(parseCsv(cr)[1]?.[0]).toBe('cr\rname');
  });

  it('an incremental bundle adds a (base) row per base blob', () => {
    const csv = renderCsv(
      report({
        images: [],
        base: {
          kind: 'bundle',
          file: 'prev/bundle.json',
          sha256: '2'.repeat(64),
          digests: 1,
          bytes: 0,
          blobs: [{ digest: d('d'), repository: 'openshift/release', mountTo: ['a', 'b'] }],
        },
      }),
    );
    expect(csv.split('\n')[1]).toBe(`(base),openshift/release,bundle:prev/bundle.json,${d('d')},,,a b`);
  });
});

describe('renderJson / renderYaml', () => {
  it('carry the whole report, and read back equal', () => {
    const r = report({ verification: { ok: true, problems: [] } });
    expect(JSON.parse(renderJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
    expect(renderJson(r).endsWith('}\n')).toBe(true);
    expect(YAML.parse(renderYaml(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});

/** A strict RFC 4180 reader for the check above. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}
