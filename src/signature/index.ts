export {
  ATOMIC_SIGNATURE_TYPE,
  atomicSignatureJson,
  parseAtomicSignature,
  type AtomicSignature,
} from './atomic.js';
export {
  MAX_CONFIGMAP_SIGNATURES,
  SIGNATURE_LABEL,
  SIGNATURE_NAMESPACE,
  parseSignatureConfigMap,
  signatureConfigMap,
  signatureConfigMapName,
} from './configmap.js';
export {
  defaultKeyringPath,
  findKeys,
  formatKeyId,
  loadKeyring,
  loadKeyrings,
  parseKeyring,
  primaryUserId,
  type KeyMatch,
  type Keyring,
} from './keyring.js';
export { generateKey, signAtomic, signDetached, verifyDetached } from './sign.js';
export {
  MAX_SIGNATURES,
  MAX_SIGNATURE_BYTES,
  fetchSignatures,
  signatureUrl,
  type FetchSignaturesOptions,
  type FetchedSignature,
} from './store.js';
export { verifySignature, type SignatureCheck, type VerifyOptions } from './verify.js';
