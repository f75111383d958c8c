/** How `bale inspect` prints its report: table, CSV (one row per image), JSON, YAML. */
import YAML from 'yaml';
import { formatSize } from '../bundle/parse-size.js';
import type { InspectReport } from '../workflows/inspect/index.js';

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function short(digest: string): string {
  return digest.length > 19 ? digest.slice(0, 19) : digest;
}

export function renderTable(r: InspectReport): string {
  const out: string[] = [];
  for (const rel of r.releases) {
    out.push(`Release   ${rel.version} (${rel.architecture})  ${rel.digest}`);
    out.push(`Source    ${rel.source}`);
  }
  for (const g of r.graphs) {
    out.push(`Update    ${g.channel} (${g.arch}): ${g.releases.join(' → ')}  ${g.path} from ${g.source}`);
  }
  if (r.graphData) out.push(`Graph     revision ${r.graphData.revision}  ${r.graphData.digest}`);
  out.push(`Created   ${r.created} by bale ${r.baleVersion}`);
  out.push(`Total     ${r.totals.images} images, ${r.totals.volumes} volumes, ${formatSize(r.totals.bytes)}`);
  if (r.base) {
    out.push(
      `Base      incremental: ${r.base.digests} blob(s), ${formatSize(r.base.bytes)} expected at the destination, from ${r.base.kind} ${r.base.file} (sha256 ${r.base.sha256})`,
    );
  }
  out.push('', 'IMAGES');
  out.push(
    table([
      ['NAME', 'DIGEST', 'SIZE', 'TAGS'],
      ...r.images.map((i) => [i.name, short(i.digest), formatSize(i.size), i.tags.join(',')]),
    ]),
  );
  out.push('', 'VOLUMES');
  out.push(
    table([
      ['NAME', 'SIZE', 'ENTRIES'],
      ...r.volumes.map((v) => [v.name, formatSize(v.size), String(v.entries)]),
    ]),
  );
  out.push('', 'SIGNATURES');
  out.push(
    table([
      ['PATH', 'KEY', 'IDENTITY', 'VERIFIED'],
      ...r.signatures.map((s) => [
        s.path,
        s.keyId ?? '',
        s.identity ?? '',
        s.verified === undefined
          ? 'not checked'
          : s.verified
            ? 'yes'
            : `NO${s.reason ? ` (${s.reason})` : ''}`,
      ]),
    ]),
  );
  if (r.base) {
    out.push('', 'BASE (expected at the destination, not carried)');
    out.push(
      table([
        ['REPOSITORY', 'DIGEST', 'SIZE', 'MOUNTED TO'],
        ...r.base.blobs.map((b) => [
          b.repository,
          short(b.digest),
          b.size === undefined ? '?' : formatSize(b.size),
          (b.mountTo ?? []).join(','),
        ]),
      ]),
    );
  }
  if (r.manifests.length > 0)
    out.push('', 'MANIFESTS (unpack --apply-manifests)', ...r.manifests.map((m) => `  ${m}`));
  if (r.verification) {
    out.push(
      '',
      r.verification.ok ? 'VERIFY    ok' : `VERIFY    ${r.verification.problems.length} problem(s)`,
    );
    for (const p of r.verification.problems) out.push(`  ${p.code}  ${p.message}`);
  }
  return `${out.join('\n')}\n`;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * One row per image: name,repository,source,digest,mediaType,size,tags (tags space-separated).
 * An incremental bundle adds one row per base blob: name `(base)`, source `<kind>:<file>`,
 * empty mediaType, the repositories it is mounted to as tags.
 */
export function renderCsv(r: InspectReport): string {
  const rows = [['name', 'repository', 'source', 'digest', 'mediaType', 'size', 'tags']];
  for (const i of r.images)
    rows.push([i.name, i.repository, i.source, i.digest, i.mediaType, String(i.size), i.tags.join(' ')]);
  for (const b of r.base?.blobs ?? []) {
    rows.push([
      '(base)',
      b.repository,
      `${r.base?.kind ?? ''}:${r.base?.file ?? ''}`,
      b.digest,
      '',
      b.size === undefined ? '' : String(b.size),
      (b.mountTo ?? []).join(' '),
    ]);
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

export function renderJson(r: InspectReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function renderYaml(r: InspectReport): string {
  return YAML.stringify(r);
}
