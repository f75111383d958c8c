/**
 * Keeps kubeconfig credentials out of messages. Errors from the Kubernetes client or
 * a YAML parser can quote what they were given; every message that leaves
 * src/cluster/ goes through `redact` with the secrets of the kubeconfig in use.
 */
import type { KubeConfig } from '@kubernetes/client-node';

export const REDACTED = '<redacted>';

/** Secret strings (tokens, passwords, keys) anywhere in a user entry of a kubeconfig. */
export function secretsOfUser(user: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key: string, underEnv: boolean): void => {
    if (typeof value === 'string') {
      // By key: tokens, passwords, client secrets, inline key/cert data; and every value
      // of an exec plugin's env (often credentials). Paths (`*File`) are not secrets.
      const secretKey = /token|password|secret|data|key|auth$/i.test(key) && !/file$/i.test(key);
      if ((secretKey || (underEnv && key === 'value')) && value.length >= 4) found.push(value);
      return;
    }
    if (Array.isArray(value)) {
      for (const v of value) walk(v, key, underEnv || key === 'env');
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k, underEnv || key === 'env');
    }
  };
  walk(user, 'user', false);
  return found;
}

/** Secrets of every user in a loaded KubeConfig. */
export function secretsOf(kc: KubeConfig): string[] {
  const secrets = new Set<string>();
  for (const user of kc.getUsers()) {
    for (const s of secretsOfUser(user)) secrets.add(s);
  }
  return [...secrets];
}

/** Replace each secret (longest first) with a marker; also scrub bearer/basic headers. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length > 0) out = out.split(s).join(REDACTED);
  }
  return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`);
}
