/**
 * Reads Kubernetes manifests from files: YAML (several documents per file) or JSON,
 * a `kind: List` expanded into its items. Each object is checked for what apply
 * needs (apiVersion, kind, a DNS-1123 metadata.name, a valid namespace, string
 * labels and annotations) and an object named twice is refused.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments } from 'yaml';
import { BaleError, isBaleError, messageOf } from '../errors.js';
import { describeObject, type KubeObject } from './kube-object.js';
import { isDns1123Label, isDns1123Subdomain } from './names.js';

function invalid(where: string, what: string): BaleError {
  return new BaleError('E_CONFIG', `invalid manifest ${where}: ${what}`, {
    hint: 'Each document must be a Kubernetes object with apiVersion, kind and metadata.name.',
    details: { manifest: where },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkStringMap(v: unknown, field: string, where: string): void {
  if (v === undefined) return;
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(where, `metadata.${field} must map strings to strings`);
  }
}

/** Validates one decoded document and returns it typed. */
export function validateManifest(value: unknown, where: string): KubeObject {
  if (!isRecord(value)) throw invalid(where, 'not an object');
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    throw invalid(where, `apiVersion ${JSON.stringify(apiVersion)} is missing or malformed`);
  }
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    throw invalid(where, `kind ${JSON.stringify(kind)} is missing or malformed`);
  }
  if (!isRecord(metadata)) throw invalid(where, 'metadata is missing');
  const name = metadata.name;
  if (typeof name !== 'string' || !isDns1123Subdomain(name)) {
    throw invalid(where, `metadata.name ${JSON.stringify(name)} is missing or not a DNS-1123 name`);
  }
  if (
    metadata.namespace !== undefined &&
    (typeof metadata.namespace !== 'string' || !isDns1123Label(metadata.namespace))
  ) {
    throw invalid(where, `metadata.namespace ${JSON.stringify(metadata.namespace)} is not a DNS-1123 label`);
  }
  checkStringMap(metadata.labels, 'labels', where);
  checkStringMap(metadata.annotations, 'annotations', where);
  return value as KubeObject;
}

/** Decodes every object in one file's text (`where` names the file in messages). */
export function parseManifests(text: string, where: string): KubeObject[] {
  const out: KubeObject[] = [];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: false, lineCounter });
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for empty input.
    return out;
  }
  docs.forEach((doc, i) => {
    const at = docs.length > 1 ? `${where} (document ${i + 1})` : where;
    const err = doc.errors[0];
    if (err) {
      const pos = lineCounter.linePos(err.pos[0]);
      throw new BaleError(
        'E_CONFIG',
        `manifest ${at} is not valid YAML or JSON (line ${pos.line}, column ${pos.col})`,
        {
          hint: 'Fix the file; a manifest is YAML (documents separated by ---) or JSON.',
          details: { manifest: where },
        },
      );
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // empty document
    if (
      isRecord(value) &&
      typeof value.kind === 'string' &&
      value.kind.endsWith('List') &&
      Array.isArray(value.items)
    ) {
      value.items.forEach((item, j) => out.push(validateManifest(item, `${at} items[${j}]`)));
      return;
    }
    out.push(validateManifest(value, at));
  });
  return out;
}

/** Reads manifest files in order; refuses the same object defined twice. */
export async function loadManifests(paths: readonly string[]): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isBaleError(err)) throw err;
      throw new BaleError('E_IO', `cannot read manifest ${path}: ${messageOf(err)}`, {
        hint: 'Check the path and its permissions.',
        cause: err,
        details: { manifest: path },
      });
    }
    for (const obj of parseManifests(text, path)) {
      const id = `${obj.apiVersion.split('/')[0]}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
      const before = seen.get(id);
      const label = describeObject({
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
      });
      if (before !== undefined) {
        throw new BaleError('E_CONFIG', `${label} is defined twice: in ${before} and in ${path}`, {
          hint: 'Remove one of the two definitions.',
          details: { manifest: path },
        });
      }
      seen.set(id, path);
      out.push(obj);
    }
  }
  return out;
}
