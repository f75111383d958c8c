import { BaleError, messageOf } from '../errors.js';
import type { Progress } from '../progress.js';
import type { Keyring } from './keyring.js';
import { fetchSignatures } from './store.js';
import { verifySignature, type SignatureCheck } from './verify.js';

/** The two official stores (formats.md §3). */
export const OFFICIAL_SIGNATURE_STORES = [
  'https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release',
  'https://storage.googleapis.com/openshift-release/official/signatures/openshift/release',
];

export interface KeptSignature {
  bytes: Buffer;
  check: SignatureCheck;
  /** Where it came from (store URL or signature image). */
  source: string;
}

export interface SignatureCandidate {
  bytes: Buffer;
  source: string;
}

/**
 * Fetches the signatures of `digest` from every store (a store that fails is reported
 * and skipped), verifies each against the keyrings, and keeps the ones that verify,
 * without duplicates, in store order.
 */
export async function gatherSignatures(opts: {
  digest: string;
  stores: readonly string[];
  keyrings: Keyring[];
  extra?: readonly SignatureCandidate[];
  tlsVerify?: boolean;
  caFile?: string;
  progress: Progress;
  what: string;
  /** Stops the fetches; an abort is never taken for a failing store (the next one is not asked). */
  signal?: AbortSignal;
}): Promise<KeptSignature[]> {
  const candidates: SignatureCandidate[] = [...(opts.extra ?? [])];
  const storeProblems: string[] = [];
  for (const store of opts.stores) {
    try {
      const found = await fetchSignatures(store, opts.digest, {
        tlsVerify: opts.tlsVerify,
        caFile: opts.caFile,
        onSkip: (s) => opts.progress.warn(`${s.url} skipped: ${s.error.message}`),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      for (const f of found) candidates.push({ bytes: f.bytes, source: f.url });
      if (found.length === 0) storeProblems.push(`${store}: no signatures for ${opts.digest}`);
    } catch (err) {
      opts.signal?.throwIfAborted();
      storeProblems.push(`${store}: ${messageOf(err)}`);
      opts.progress.warn(`signature store ${store}: ${messageOf(err)}`);
    }
  }

  const kept: KeptSignature[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    const key = c.bytes.toString('base64');
    if (seen.has(key)) continue;
    seen.add(key);
    const check = await verifySignature(c.bytes, opts.keyrings, opts.digest);
    if (check.ok) kept.push({ bytes: c.bytes, check, source: c.source });
    else {
      rejected.push(`${c.source}: ${check.reason ?? 'does not verify'}`);
      opts.progress.warn(`${opts.what} signature ${c.source} rejected: ${check.reason ?? 'does not verify'}`);
    }
  }

  if (kept.length === 0) {
    const keys = opts.keyrings.flatMap((k) =>
      k.keys.map((key) => `${key.getKeyID().toHex().toUpperCase()} (${k.source})`),
    );
    throw new BaleError('E_SIGNATURE_NONE', `no signature of the ${opts.what} ${opts.digest} verifies`, {
      hint:
        `Keys tried: ${keys.join(', ') || 'none'}. Stores tried: ${opts.stores.join(', ') || 'none'}.` +
        ` ${[...storeProblems, ...rejected].join('; ')}` +
        ' Pass the right --keyring, or --signature-store where the signatures are.',
      details: { digest: opts.digest, keys, stores: opts.stores, problems: [...storeProblems, ...rejected] },
    });
  }
  return kept;
}
