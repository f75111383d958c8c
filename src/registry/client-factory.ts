/**
 * Registry clients for commands that talk to a source and a destination (plan, mirror):
 * one credential lookup, CA and retry policy shared, TLS verification per side.
 */
import type { Progress } from '../progress.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { loadCredentials } from './credentials.js';

/** Options that make registry clients (the source's and the destination's). */
export interface ClientOptions {
  registryConfig?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
  caFile?: string;
  concurrency?: number;
  retry?: RegistryClientOptions['retry'];
  /** Cancels every client's requests (see RegistryClientOptions.signal). */
  signal?: AbortSignal;
}

/** A factory of registry clients sharing credentials, CA and retry policy; `tlsVerify` per side. */
export async function registryClients(
  o: ClientOptions,
  progress: Progress,
): Promise<(tlsVerify: boolean | undefined) => RegistryClient> {
  const credentials = await loadCredentials({
    registryConfig: o.registryConfig,
    env: o.env,
    homeDir: o.homeDir,
  });
  return (tlsVerify) =>
    new RegistryClient({
      credentials,
      tlsVerify: tlsVerify ?? true,
      ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
      concurrency: o.concurrency ?? 8,
      ...(o.retry !== undefined ? { retry: o.retry } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      onRetry: (e) =>
        progress.warn(`retrying ${e.url} in ${Math.round(e.delayMs)} ms (${e.reason}, attempt ${e.attempt})`),
    });
}

/** Closes clients; after an abort, ends their connections at once. */
export async function closeClients(
  clients: readonly (RegistryClient | undefined)[],
  signal?: AbortSignal,
): Promise<void> {
  for (const c of clients) {
    if (c === undefined) continue;
    if (signal?.aborted) await c.destroy();
    else await c.close();
  }
}
