/**
 * The trust report as text: whether bundle.json is signed and by which key, then each
 * image, tag and cluster object with the root that anchors it. Every string from the
 * media goes through safeText.
 */
import type { SigstoreResult } from '../bundle/sigstore-checks.js';
import type { Anchor, TrustReport } from '../bundle/trust-chain.js';
import { safeText } from './safe-text.js';

const ANCHOR_LABEL: Record<Anchor, string> = {
  'release-signature': 'release signature',
  'graph-data-signature': 'graph-data signature',
  'bundle-signature': 'bundle signature',
  unsigned: 'UNSIGNED (accepted with --allow-unsigned)',
  none: 'UNANCHORED',
};

export function indexSignatureLine(t: TrustReport): string {
  const i = t.index;
  switch (i.state) {
    case 'signed':
      return `bundle.json is signed: bundle.json.asc verifies with the --index-keyring, key ${safeText(i.keyId ?? '?')}${i.userId ? ` (${safeText(i.userId)})` : ''}`;
    case 'not-checked':
      return 'bundle.json.asc is there but was not checked (no --index-keyring): bundle.json counts as not signed';
    case 'invalid':
      return `bundle.json.asc does NOT verify with the --index-keyring${i.reason ? ` (${safeText(i.reason)})` : ''}`;
    default:
      return 'bundle.json is not signed (no bundle.json.asc)';
  }
}

export function trustLines(t: TrustReport): string[] {
  const out = [`Trust: ${indexSignatureLine(t)}`];
  const kinds = ['image', 'tag', 'object', 'entry'] as const;
  for (const kind of kinds) {
    for (const i of t.items.filter((x) => x.kind === kind)) {
      out.push(
        `  ${kind} ${safeText(i.name)}: ${ANCHOR_LABEL[i.anchor]}${i.by && i.anchor !== 'none' ? ` (${safeText(i.by)})` : ''}`,
      );
    }
  }
  if (t.unanchored > 0) {
    out.push(
      t.allowUnsigned
        ? `${t.unanchored} item(s) no signature anchors were ACCEPTED because of --allow-unsigned`
        : `${t.unanchored} item(s) no signature anchors`,
    );
  } else {
    out.push('Every image, tag and cluster object is anchored to a verified signature.');
  }
  return out;
}

const SIGSTORE_LABEL: Record<SigstoreResult['state'], string> = {
  valid: 'valid',
  'wrong-key': 'NOT VERIFIED (no --sigstore-key verifies it)',
  'wrong-digest': 'WRONG DIGEST (it signs another image)',
  malformed: 'MALFORMED',
};

/**
 * Each Sigstore signature artifact with its state: checked (verify, inspect --deep), or
 * as pack recorded it (`recorded`: inspect without --deep).
 */
export function sigstoreLines(
  results:
    | readonly (Pick<SigstoreResult, 'repository' | 'tag' | 'digest' | 'signs' | 'recorded'> &
        Partial<Pick<SigstoreResult, 'state' | 'reason' | 'keyFingerprint'>>)[]
    | undefined,
  opts: { recorded?: boolean } = {},
): string[] {
  if (results === undefined || results.length === 0) return [];
  const out = [
    opts.recorded
      ? `Sigstore signatures (${results.length}, as recorded at pack time; not checked without --deep):`
      : `Sigstore signatures (${results.length}, checked with the Sigstore key(s)):`,
  ];
  for (const r of results) {
    const state = opts.recorded || r.state === undefined ? r.recorded : SIGSTORE_LABEL[r.state];
    const key = !opts.recorded && r.keyFingerprint ? `, key ${r.keyFingerprint}` : '';
    const why = !opts.recorded && r.state !== 'valid' && r.reason ? `: ${r.reason}` : '';
    out.push(safeText(`  ${r.repository}:${r.tag} (${r.digest}) signs ${r.signs}: ${state}${key}${why}`));
  }
  return out;
}
