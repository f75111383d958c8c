/**
 * Phase 1b: the release payload's own verifier configuration,
 * `release-manifests/0000_90_cluster-update-keys_configmap.yaml` (the
 * `release-verification` ConfigMap, src/release/verification-config.ts).
 *
 * When the user gave no `--signature-store`, its stores are where pack looks for the
 * release signatures (the official stores when the payload has no such file or it
 * names none). Its keys are compared with the keyring in use and the verdict reported
 * (agree / payload-only / keyring-only); a key is never trusted because the payload
 * names it: signatures are verified with the keyring only.
 */
import { isBaleError } from '../../errors.js';
import { parseManifest } from '../../registry/manifest.js';
import { pickPlatform } from '../../registry/manifest-tree.js';
import { readReleasePayload } from '../../release/read-payload.js';
import {
  compareVerifierKeys,
  parseVerificationConfig,
  payloadSignatureStores,
  VERIFICATION_CONFIG_PATH,
  type VerifierKeyComparison,
} from '../../release/verification-config.js';
import { OFFICIAL_SIGNATURE_STORES } from '../../signature/gather-signatures.js';
import type { PackContext } from './context.js';
import type { ResolvedRelease } from './resolve-release.js';

export interface PayloadVerifier {
  /** The stores pack uses for the release signatures, and where that list came from. */
  stores: string[];
  storesFrom: 'signature-store' | 'payload' | 'official';
  /** The payload's keys against the keyring in use (absent: the payload has no verifier config). */
  keys?: VerifierKeyComparison;
}

export async function payloadVerifier(ctx: PackContext, rel: ResolvedRelease): Promise<PayloadVerifier> {
  const given = ctx.o.signatureStores ?? [];
  const out: PayloadVerifier =
    given.length > 0
      ? { stores: given, storesFrom: 'signature-store' }
      : { stores: [...OFFICIAL_SIGNATURE_STORES], storesFrom: 'official' };
  const image = pickPlatform(rel.root);
  const layer = parseManifest(image.bytes, image.mediaType).layers.at(-1);
  if (layer === undefined) return out;
  const where = `${VERIFICATION_CONFIG_PATH} of ${rel.source}@${rel.root.digest}`;
  let config;
  try {
    // The payload layer is staged: this reads it from disk again, not from the network.
    const files = await readReleasePayload(await ctx.openStaged(rel.repo, layer), {
      verificationConfig: true,
    });
    if (files.verificationConfig === undefined) return out;
    config = await parseVerificationConfig(files.verificationConfig, where);
  } catch (err) {
    if (!isBaleError(err, 'E_RELEASE_INVALID')) throw err;
    ctx.progress.warn(`${err.message}: its stores and keys are not used`);
    return out;
  }
  const keys = compareVerifierKeys(config, ctx.keyrings);
  out.keys = keys;
  const stores = payloadSignatureStores(config);
  if (given.length === 0 && stores.length > 0) {
    out.stores = stores;
    out.storesFrom = 'payload';
    ctx.progress.info(`release signatures: the payload's stores ${stores.join(', ')}`);
  }
  const list = (xs: string[]): string => (xs.length > 0 ? xs.join(', ') : 'none');
  const say = keys.verdict === 'agree' ? ctx.progress.info : ctx.progress.warn;
  say.call(
    ctx.progress,
    keys.verdict === 'agree'
      ? `the payload's verifier keys agree with the keyring in use (${list(keys.agree)})`
      : `the payload's verifier keys differ from the keyring in use: in both ${list(keys.agree)}; payload only (not trusted) ${list(keys.payloadOnly)}; keyring only ${list(keys.keyringOnly)}`,
  );
  return out;
}
