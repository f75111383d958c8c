/**
 * The in-test registry (fake-registry.ts) for protocol tests: one per test, its clients
 * closed after each; `rig.retries` hears every retry the clients report.
 */
import { afterEach, beforeEach } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.js';
import { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fake-registry.js';

export interface RetryEvent {
  attempt: number;
  reason: string;
  delayMs: number;
  url: string;
}

export interface FakeRig {
  reg: FakeRegistry;
  retries: RetryEvent[];
  setup(opts?: FakeRegistryOptions): Promise<void>;
  client(opts?: RegistryClientOptions): RegistryClient;
  repo(): { registry: string; repository: string };
}

/** Registers the per-test set-up and clean-up; call at the top of a test file. */
export function useFakeRegistry(): FakeRig {
  let clients: RegistryClient[] = [];
  const rig: FakeRig = {
    reg: undefined as unknown as FakeRegistry,
    retries: [],
    async setup(opts = {}) {
      rig.reg = await startFakeRegistry(opts);
    },
    client(opts = {}) {
      const c = new RegistryClient({
        retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 20 },
        timeoutMs: 2000,
        onRetry: (e) => rig.retries.push(e),
        ...opts,
      });
      clients.push(c);
      return c;
    },
    repo: () => ({ registry: rig.reg.host, repository: 'org/repo' }),
  };
  beforeEach(() => {
    rig.retries.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await rig.reg?.stop();
  });
  return rig;
}

/** Deterministic bytes (a linear congruential sequence). */
export const blob = (n: number, seed = 1): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

export async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { code: string; details: Record<string, unknown>; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}
