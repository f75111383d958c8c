/**
 * The signatures step of pack with genuine data (fixtures/data/release-signatures):
 * a Red Hat v3 signature fetched from a store (file:// and http:// on loopback) verifies
 * against the Red Hat key bale ships; a signature by another key is refused with the keys
 * and stores named; a failing store is reported and skipped, an abort is not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { gatherSignatures } from '../../src/signature/gather-signatures.js';
import type { Progress } from '../../src/progress.js';
import { defaultKeyringPath, loadKeyring, type Keyring } from '../../src/signature/keyring.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startStaticServer } from '../helpers/static-server.js';
import { freePort } from '../helpers/tmp.js';
import { CI, REDHAT, STORE, readSignature } from './realdata.js';

function recorder(): Progress & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    phase: () => undefined,
    advance: () => undefined,
    info: () => undefined,
    warn: (m: string) => {
      warnings.push(m);
    },
  };
}

describe('gatherSignatures with genuine Red Hat signatures', () => {
  let server: Awaited<ReturnType<typeof startStaticServer>>;
  let redhat: Keyring;

  beforeAll(async () => {
    server = await startStaticServer(STORE);
    redhat = await loadKeyring(defaultKeyringPath());
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps a v3 signature from a file:// store, verified with the shipped Red Hat key', async () => {
    const kept = await gatherSignatures({
      digest: REDHAT.digest,
      stores: [`file://${STORE}`],
      keyrings: [redhat],
      progress: recorder(),
      what: 'release',
    });
    expect(kept.length).toBe(1);
    expect(kept[0]?.bytes.equals(readSignature(REDHAT.digest))).toBe(true);
    expect(kept[0]?.check).toMatchObject({
      ok: true,
      version: 3,
      keyId: REDHAT.keyId,
      identity: REDHAT.identity,
    });
  });

  it('fetches over http:// like the official stores, skipping a store that is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}/signatures`;
    const progress = recorder();
    const kept = await gatherSignatures({
      digest: REDHAT.digest,
      stores: [down, server.url],
      keyrings: [redhat],
      progress,
      what: 'release',
    });
    expect(kept.map((k) => k.source)).toEqual([`${server.url}/sha256=${REDHAT.digest.slice(7)}/signature-1`]);
    expect(progress.warnings.some((w) => w.includes(down))).toBe(true);
    // signature-1 was found, signature-2 answered 404: the store was asked for nothing more.
    expect(server.log.map((l) => [l.path, l.status])).toEqual([
      [`/sha256=${REDHAT.digest.slice(7)}/signature-1`, 200],
      [`/sha256=${REDHAT.digest.slice(7)}/signature-2`, 404],
    ]);
  });

  it('an abort while a store hangs stops the gathering with its reason: the next store is not asked', async () => {
    // The first store hangs (headers stalled); the second would answer at once.
    const hanging = await startFaultProxy('127.0.0.1:9', {
      rules: [{ fault: { kind: 'stall', ms: 3_000 } }],
    });
    const before = server.log.length;
    const ac = new AbortController();
    const reason = new Error('interrupted');
    try {
      const gathering = gatherSignatures({
        digest: REDHAT.digest,
        stores: [`${hanging.url}/signatures`, server.url],
        keyrings: [redhat],
        progress: recorder(),
        what: 'release',
        signal: ac.signal,
      });
      for (let i = 0; i < 500 && hanging.log.length === 0; i++) await sleep(10);
      expect(hanging.log).toHaveLength(1);
      const started = Date.now();
      ac.abort(reason);
      await expect(gathering).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1_000);
      await sleep(100);
      expect(server.log.length).toBe(before);
      expect(hanging.log).toHaveLength(1);
    } finally {
      await hanging.stop();
    }
  });

  it('refuses a signature by a key not in the keyrings, naming the keys and stores tried', async () => {
    const err = await gatherSignatures({
      digest: CI.digest,
      stores: [`file://${STORE}`],
      keyrings: [redhat],
      progress: recorder(),
      what: 'release',
    }).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_SIGNATURE_NONE')).toBe(true);
    const e = err as { message: string; hint: string };
    expect(e.message).toContain(CI.digest);
    expect(e.hint).toContain(REDHAT.keyId);
    expect(e.hint).toContain(defaultKeyringPath());
    expect(e.hint).toContain(`file://${STORE}`);
  });
});
