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

/** One row per image: name,repository,source,digest,mediaType,size,tags (tags space-separated). */
export function renderCsv(r: InspectReport): string {
  const rows = [['name', 'repository', 'source', 'digest', 'mediaType', 'size', 'tags']];
  for (const i of r.images)
    rows.push([i.name, i.repository, i.source, i.digest, i.mediaType, String(i.size), i.tags.join(' ')]);
  return rows.map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

export function renderJson(r: InspectReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function renderYaml(r: InspectReport): string {
  return YAML.stringify(r);
}
