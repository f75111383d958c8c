/**
 * The release payload's own verifier configuration:
 * `release-manifests/0000_90_cluster-update-keys_configmap.yaml`, the
 * `release-verification` ConfigMap (namespace `openshift-config-managed`, annotation
 * `release.openshift.io/verification-config-map`) that tells the cluster-version
 * operator which keys must have signed an update and where to find the signatures
 * (openshift/cluster-update-keys README; library-go pkg/verify newFromConfigMapData):
 *
 * - `verifier-public-key-*`: armored (or binary) OpenPGP public keys;
 * - `store-*`: a signature store URL, scheme `https://`, `http://` or `file://`;
 * - any other key (e.g. `release-repository-default`) is ignored, as the CVO does;
 * - without at least one store and one key the CVO refuses the ConfigMap; so does bale.
 *
 * The file comes from the payload, i.e. from what is being verified: bale uses its stores
 * only as default places to look for signatures, and compares its keys with the keyring
 * in use to report agreement. It never adds a key to the keyring because the payload
 * names it: compareVerifierKeys returns a report and nothing else.
 */
import { isScalar, parseAllDocuments, visit, type Document } from 'yaml';
import { BaleError, messageOf } from '../errors.js';
import { parseKeyring, type Keyring } from '../signature/keyring.js';
import { VERIFICATION_CONFIG_PATH } from './read-payload.js';

export { VERIFICATION_CONFIG_PATH };
export const VERIFICATION_CONFIG_ANNOTATION = 'release.openshift.io/verification-config-map';
/** The real file is about 4 KiB. */
export const MAX_VERIFICATION_CONFIG_BYTES = 1024 * 1024;
const MAX_DOCUMENTS = 16;
const KEY_PREFIX = 'verifier-public-key-';
const STORE_PREFIX = 'store-';

export interface PayloadVerifierKey {
  /** The data key, e.g. `verifier-public-key-redhat`. */
  name: string;
  /** Primary-key fingerprints (40 upper-case hex) of every key in that entry, in file order. */
  fingerprints: string[];
  userIds: string[];
}

export interface PayloadVerificationConfig {
  source: string;
  name: string;
  namespace?: string;
  /** Sorted by data key. */
  stores: { name: string; url: string }[];
  keys: PayloadVerifierKey[];
  /** Data keys the CVO ignores (neither store-* nor verifier-public-key-*). */
  ignored: string[];
}

function invalid(source: string, what: string, cause?: unknown): BaleError {
  return new BaleError('E_RELEASE_INVALID', `release verification config ${source}: ${what}`, {
    hint: 'The release payload carries a damaged or foreign release-verification ConfigMap; check the release image, and do not rely on its stores or keys.',
    cause,
    details: { source },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Duplicate keys in one mapping: refused unless every copy has the same value (Red Hat's
 * own file repeats `namespace: openshift-config-managed`, which every YAML reader the
 * cluster uses accepts and reads one way).
 */
function nodeJson(node: unknown): string {
  const plain =
    typeof node === 'object' && node !== null && 'toJSON' in node
      ? (node as { toJSON(): unknown }).toJSON()
      : (node ?? null);
  return JSON.stringify(plain);
}

function checkDuplicates(doc: Document, source: string): void {
  visit(doc, {
    Map(_key, map) {
      const seen = new Map<string, string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) throw invalid(source, 'a mapping key is not a plain value');
        const k = String(pair.key.value);
        const v = nodeJson(pair.value);
        const before = seen.get(k);
        if (before !== undefined && before !== v)
          throw invalid(source, `key "${k}" appears twice with different values`);
        seen.set(k, v);
      }
    },
  });
}

function parseDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: false, strict: true, schema: 'core' });
  if (!Array.isArray(docs)) throw invalid(source, 'not YAML documents');
  if (docs.length > MAX_DOCUMENTS) throw invalid(source, `more than ${MAX_DOCUMENTS} YAML documents`);
  return docs.map((doc) => {
    const err = doc.errors[0];
    if (err !== undefined) throw invalid(source, `not valid YAML (${err.message})`, err);
    try {
      checkDuplicates(doc, source);
    } catch (e) {
      if (e instanceof BaleError) throw e;
      throw invalid(source, `unreadable YAML (${messageOf(e)})`, e);
    }
    try {
      return doc.toJS({ maxAliasCount: 0 }) as unknown;
    } catch (e) {
      throw invalid(source, `YAML aliases are not allowed (${messageOf(e)})`, e);
    }
  });
}

async function verifierKey(name: string, value: string, source: string): Promise<PayloadVerifierKey> {
  let keyring: Keyring;
  try {
    keyring = await parseKeyring(value, `${source} data.${name}`);
  } catch (err) {
    throw invalid(source, `data.${name} is not an OpenPGP public key (${messageOf(err)})`, err);
  }
  return {
    name,
    fingerprints: keyring.keys.map((k) => k.getFingerprint().toUpperCase()),
    userIds: keyring.keys.flatMap((k) => k.getUserIDs()),
  };
}

function store(name: string, value: string, source: string): { name: string; url: string } {
  const url = value.trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(source, `data.${name} is not a URL`);
  }
  if (!['https:', 'http:', 'file:'].includes(parsed.protocol)) {
    throw invalid(
      source,
      `data.${name} has scheme ${parsed.protocol.replace(/:$/, '')}; a store is https://, http:// or file://`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid(source, `data.${name} carries credentials in its URL`);
  }
  return { name, url };
}

/** Parses the payload's verification ConfigMap strictly. E_RELEASE_INVALID, naming what is wrong. */
export async function parseVerificationConfig(
  data: Buffer | string,
  source: string = VERIFICATION_CONFIG_PATH,
): Promise<PayloadVerificationConfig> {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > MAX_VERIFICATION_CONFIG_BYTES)
    throw invalid(source, `larger than ${MAX_VERIFICATION_CONFIG_BYTES} bytes`);
  let text: string;
  try {
    text = typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw invalid(source, 'not UTF-8 text');
  }
  const cm = parseDocuments(text, source).find(
    (d) =>
      isRecord(d) &&
      d.kind === 'ConfigMap' &&
      isRecord(d.metadata) &&
      isRecord(d.metadata.annotations) &&
      VERIFICATION_CONFIG_ANNOTATION in d.metadata.annotations,
  );
  if (!isRecord(cm) || !isRecord(cm.metadata)) {
    throw invalid(source, `no ConfigMap with the annotation ${VERIFICATION_CONFIG_ANNOTATION}`);
  }
  if (cm.apiVersion !== 'v1')
    throw invalid(source, `apiVersion is ${JSON.stringify(cm.apiVersion)}, expected v1`);
  const { name, namespace } = cm.metadata;
  if (typeof name !== 'string' || name === '') throw invalid(source, 'metadata.name is missing');
  if (namespace !== undefined && typeof namespace !== 'string')
    throw invalid(source, 'metadata.namespace is not a string');
  if (!isRecord(cm.data)) throw invalid(source, 'data is missing or not a mapping');

  const stores: PayloadVerificationConfig['stores'] = [];
  const keys: PayloadVerifierKey[] = [];
  const ignored: string[] = [];
  for (const k of Object.keys(cm.data).sort()) {
    const v = cm.data[k];
    if (typeof v !== 'string') throw invalid(source, `data.${k} is not a string`);
    if (k.startsWith(KEY_PREFIX)) keys.push(await verifierKey(k, v, source));
    else if (k.startsWith(STORE_PREFIX)) stores.push(store(k, v, source));
    else ignored.push(k);
  }
  if (stores.length === 0) throw invalid(source, 'names no signature store (store-*)');
  if (keys.length === 0) throw invalid(source, 'names no verifier key (verifier-public-key-*)');
  return { source, name, ...(typeof namespace === 'string' ? { namespace } : {}), stores, keys, ignored };
}

/** The payload's stores, in data-key order: defaults for when the user gave none. */
export function payloadSignatureStores(config: PayloadVerificationConfig): string[] {
  return config.stores.map((s) => s.url);
}

export interface VerifierKeyComparison {
  /** `agree`: every payload key is in the keyring and the reverse; otherwise `differ`. */
  verdict: 'agree' | 'differ';
  /** Fingerprints in both (40 upper-case hex), sorted. */
  agree: string[];
  /** In the payload's ConfigMap but not in the keyring in use: reported, never trusted. */
  payloadOnly: string[];
  /** In the keyring in use but not named by the payload. */
  keyringOnly: string[];
}

/**
 * Compares the payload's verifier keys with the keyrings bale verifies with, by primary
 * key fingerprint. Read-only: the result holds fingerprints, not keys, so nothing in it
 * can be used to verify a signature.
 */
export function compareVerifierKeys(
  config: PayloadVerificationConfig,
  keyrings: readonly Keyring[],
): VerifierKeyComparison {
  const payload = new Set(config.keys.flatMap((k) => k.fingerprints));
  const inUse = new Set(keyrings.flatMap((r) => r.keys.map((k) => k.getFingerprint().toUpperCase())));
  const sort = (xs: Iterable<string>): string[] => [...xs].sort();
  const agree = sort([...payload].filter((f) => inUse.has(f)));
  const payloadOnly = sort([...payload].filter((f) => !inUse.has(f)));
  const keyringOnly = sort([...inUse].filter((f) => !payload.has(f)));
  return {
    verdict: payloadOnly.length === 0 && keyringOnly.length === 0 ? 'agree' : 'differ',
    agree,
    payloadOnly,
    keyringOnly,
  };
}
