/** The trust report as text: what anchors each item, said plainly; nothing from the media reaches the terminal raw. */
import { describe, expect, it } from 'vitest';
import type { TrustReport } from '../../src/bundle/trust-chain.js';
import { indexSignatureLine, trustLines } from '../../src/cli/trust-report.js';

const D = `sha256:${'1'.repeat(64)}`;

/** Whether `s` holds a control character other than a newline. */
const hasControl = (s: string): boolean =>
  [...s].some((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));

describe('indexSignatureLine', () => {
  const line = (index: TrustReport['index']): string =>
    indexSignatureLine({ index, allowUnsigned: false, items: [], unanchored: 0 });

  it('says for each state whether bundle.json counts as signed', () => {
    expect(line({ state: 'signed', keyId: 'abcd1234', userId: 'Site <ops@example.com>' })).toBe(
      'bundle.json is signed: bundle.json.asc verifies with the --index-keyring, key abcd1234 (Site <ops@example.com>)',
    );
    expect(line({ state: 'not-checked' })).toMatch(
      /not checked \(no --index-keyring\): bundle\.json counts as not signed/,
    );
    expect(line({ state: 'invalid', reason: 'bad signature' })).toBe(
      'bundle.json.asc does NOT verify with the --index-keyring (bad signature)',
    );
    expect(line({ state: 'unsigned' })).toBe('bundle.json is not signed (no bundle.json.asc)');
  });

  it('escapes control characters in a user id read from the media', () => {
    const out = line({ state: 'signed', keyId: 'k', userId: 'evil\x1b[2J\r' });
    expect(hasControl(out)).toBe(false);
  });
});

describe('trustLines', () => {
  const report: TrustReport = {
    index: { state: 'unsigned' },
    allowUnsigned: false,
    unanchored: 2,
    items: [
      { kind: 'tag', name: 'openshift/release:4.18.1-x86_64', anchor: 'release-signature', by: D },
      { kind: 'image', name: `openshift/release@${D}`, anchor: 'release-signature', by: `${D} (quay.io/x)` },
      {
        kind: 'object',
        name: 'ConfigMap openshift-config/x (manifests/x.yaml)',
        anchor: 'none',
        by: 'ignored',
      },
      { kind: 'image', name: `extra/image\x1b]0;t\x07@${D}`, anchor: 'none' },
    ],
  };

  it('images, then tags, then objects, each with its anchor; the count of unanchored items last', () => {
    const lines = trustLines(report);
    expect(lines[0]).toBe('Trust: bundle.json is not signed (no bundle.json.asc)');
    expect(lines.slice(1, 3).every((l) => l.startsWith('  image '))).toBe(true);
    expect(lines[1]).toBe(`  image openshift/release@${D}: release signature (${D} (quay.io/x))`);
    expect(lines[3]).toBe(`  tag openshift/release:4.18.1-x86_64: release signature (${D})`);
    // An unanchored item does not name what would have anchored it.
    expect(lines[4]).toBe('  object ConfigMap openshift-config/x (manifests/x.yaml): UNANCHORED');
    expect(lines[5]).toBe('2 item(s) no signature anchors');
    expect(hasControl(lines.join('\n'))).toBe(false);
  });

  it('says so when --allow-unsigned accepted them, and when everything is anchored', () => {
    expect(trustLines({ ...report, allowUnsigned: true }).at(-1)).toBe(
      '2 item(s) no signature anchors were ACCEPTED because of --allow-unsigned',
    );
    expect(trustLines({ ...report, unanchored: 0, items: [] })).toEqual([
      'Trust: bundle.json is not signed (no bundle.json.asc)',
      'Every image, tag and cluster object is anchored to a verified signature.',
    ]);
  });
});
