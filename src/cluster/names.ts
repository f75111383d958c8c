/**
 * Kubernetes object-name rules (DNS-1123), checked before anything reaches a cluster
 * so a bad name fails with a clear message instead of a 422 from the API server.
 */
import { BaleError } from '../errors.js';

const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const LABEL_RE = new RegExp(`^${LABEL}$`);

/** DNS-1123 subdomain: what metadata.name of most kinds (ConfigMap, custom resources) must be. */
export function isDns1123Subdomain(name: string): boolean {
  return name.length > 0 && name.length <= 253 && SUBDOMAIN_RE.test(name);
}

/** DNS-1123 label: what a namespace name must be. */
export function isDns1123Label(name: string): boolean {
  return name.length > 0 && name.length <= 63 && LABEL_RE.test(name);
}

export function validateObjectName(name: unknown, what: string, where?: string): string {
  if (typeof name !== 'string' || !isDns1123Subdomain(name)) {
    throw new BaleError('E_USAGE', `invalid ${what} "${String(name)}"${where ? ` in ${where}` : ''}`, {
      hint: 'Use at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (DNS-1123).',
      details: { name, ...(where ? { where } : {}) },
    });
  }
  return name;
}

export function validateNamespace(namespace: unknown, where?: string): string {
  if (typeof namespace !== 'string' || !isDns1123Label(namespace)) {
    throw new BaleError('E_USAGE', `invalid namespace "${String(namespace)}"${where ? ` in ${where}` : ''}`, {
      hint: 'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit (DNS-1123 label).',
      details: { namespace, ...(where ? { where } : {}) },
    });
  }
  return namespace;
}
