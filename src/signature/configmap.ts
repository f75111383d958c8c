/**
 * The signature ConfigMap that oc writes and the cluster-version operator reads
 * (formats.md §3): written from a fixed template so the bytes are deterministic, and
 * read back strictly, because on the far side of the air gap it comes from
 * removable media.
 */
import YAML from 'yaml';
import { digestHex, isDigest } from '../digest.js';
import { BaleError, messageOf } from '../errors.js';
import { MAX_SIGNATURE_BYTES } from './store.js';

export const SIGNATURE_NAMESPACE = 'openshift-config-managed';
export const SIGNATURE_LABEL = 'release.openshift.io/verification-signatures';
/** More signatures than this in one ConfigMap is not something bale writes. */
export const MAX_CONFIGMAP_SIGNATURES = 64;
const MAX_CONFIGMAP_TEXT = 4 * 1024 * 1024;

/** `signature-sha256-<first 16 hex>.yaml` */
export function signatureConfigMapName(digest: string): string {
  return `signature-sha256-${digestHex(digest).slice(0, 16)}.yaml`;
}

/** A YAML scalar for base64 text: plain unless YAML would read it as something else. */
function scalar(text: string): string {
  return YAML.parse(text) === text ? text : JSON.stringify(text);
}

export function signatureConfigMap(digest: string, signatures: Buffer[]): string {
  const hex = digestHex(digest);
  if (signatures.length === 0) {
    throw new BaleError('E_SIGNATURE_NONE', `no signatures to write for ${digest}`, {
      hint: 'Fetch the release signatures first.',
    });
  }
  const lines = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: sha256-${hex}`,
    `  namespace: ${SIGNATURE_NAMESPACE}`,
    '  labels:',
    `    ${SIGNATURE_LABEL}: ""`,
    'binaryData:',
    ...signatures.map((sig, i) => `  sha256-${hex}-${i + 1}: ${scalar(sig.toString('base64'))}`),
  ];
  return `${lines.join('\n')}\n`;
}

function invalid(source: string, reason: string, cause?: unknown): BaleError {
  return new BaleError('E_SIGNATURE_INVALID', `signature ConfigMap ${source}: ${reason}`, {
    hint: 'The file is not a signature ConfigMap as bale writes it; the bundle may be damaged or tampered with.',
    cause,
    details: { source },
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(
  v: unknown,
  where: string,
  keys: readonly string[],
  source: string,
): Record<string, unknown> {
  if (!isPlainObject(v)) throw invalid(source, `${where} is not a mapping`);
  const actual = Object.keys(v);
  for (const key of actual) {
    if (!keys.includes(key)) throw invalid(source, `unknown field ${JSON.stringify(key)} in ${where}`);
  }
  for (const key of keys) {
    if (!actual.includes(key)) throw invalid(source, `${where} has no ${JSON.stringify(key)}`);
  }
  return v;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads a signature ConfigMap (YAML or JSON) strictly: exactly the fields bale
 * writes, the name matching the digest, binaryData keys `sha256-<hex>-1..N` with no
 * gaps, canonical base64, each signature non-empty and at most 50 KiB.
 */
export function parseSignatureConfigMap(
  text: string,
  source = 'signature ConfigMap',
): { digest: string; signatures: Buffer[] } {
  if (text.length > MAX_CONFIGMAP_TEXT) throw invalid(source, `larger than ${MAX_CONFIGMAP_TEXT} bytes`);
  let doc: unknown;
  try {
    doc = YAML.parse(text, { uniqueKeys: true, maxAliasCount: 0, strict: true, schema: 'core' });
  } catch (err) {
    throw invalid(source, `not valid YAML (${messageOf(err)})`, err);
  }
  const top = exactKeys(doc, 'the document', ['apiVersion', 'kind', 'metadata', 'binaryData'], source);
  if (top.apiVersion !== 'v1')
    throw invalid(source, `apiVersion is ${JSON.stringify(top.apiVersion)}, expected "v1"`);
  if (top.kind !== 'ConfigMap')
    throw invalid(source, `kind is ${JSON.stringify(top.kind)}, expected "ConfigMap"`);
  const metadata = exactKeys(top.metadata, 'metadata', ['name', 'namespace', 'labels'], source);
  const name = metadata.name;
  const digest = typeof name === 'string' ? `sha256:${name.slice('sha256-'.length)}` : '';
  if (typeof name !== 'string' || !name.startsWith('sha256-') || !isDigest(digest)) {
    throw invalid(source, `metadata.name ${JSON.stringify(name)} is not sha256-<64 hex>`);
  }
  if (metadata.namespace !== SIGNATURE_NAMESPACE) {
    throw invalid(
      source,
      `metadata.namespace is ${JSON.stringify(metadata.namespace)}, expected ${SIGNATURE_NAMESPACE}`,
    );
  }
  const labels = exactKeys(metadata.labels, 'metadata.labels', [SIGNATURE_LABEL], source);
  if (labels[SIGNATURE_LABEL] !== '') throw invalid(source, `label ${SIGNATURE_LABEL} is not ""`);
  if (!isPlainObject(top.binaryData)) throw invalid(source, 'binaryData is not a mapping');
  const entries = Object.entries(top.binaryData);
  if (entries.length === 0) throw invalid(source, 'binaryData is empty');
  if (entries.length > MAX_CONFIGMAP_SIGNATURES) {
    throw invalid(source, `more than ${MAX_CONFIGMAP_SIGNATURES} signatures`);
  }
  const signatures: Buffer[] = [];
  for (let i = 1; i <= entries.length; i++) {
    const key = `${name}-${i}`;
    const value = top.binaryData[key];
    if (value === undefined)
      throw invalid(source, `binaryData has no ${key} (keys must be ${name}-1..${entries.length})`);
    if (typeof value !== 'string' || value === '' || !BASE64_RE.test(value)) {
      throw invalid(source, `binaryData.${key} is not base64`);
    }
    const bytes = Buffer.from(value, 'base64');
    if (bytes.toString('base64') !== value)
      throw invalid(source, `binaryData.${key} is not canonical base64`);
    if (bytes.length > MAX_SIGNATURE_BYTES) {
      throw invalid(source, `binaryData.${key} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
    }
    signatures.push(bytes);
  }
  return { digest, signatures };
}
