/**
 * `bale verify-signature`: checks release signature files (binary signed messages as
 * in a signature store, or signature ConfigMaps as bale and oc write them) against
 * keyrings and, when given, the release digest. One result per signature; a file
 * that cannot be read throws E_IO, a bad signature is a result with ok false.
 */
import { readFile, stat } from 'node:fs/promises';
import { assertDigest } from '../../digest.js';
import { BaleError, isBaleError, messageOf } from '../../errors.js';
import {
  MAX_SIGNATURE_BYTES,
  loadKeyrings,
  parseSignatureConfigMap,
  verifySignature,
  type SignatureCheck,
} from '../../signature/index.js';

export interface VerifySignatureFilesOptions {
  /** The release digest the signatures must be for; unset: report what they sign. */
  digest?: string;
  /** Keyring files; empty or unset: bale's Red Hat release key. */
  keyringPaths?: string[];
  /** Signature files (signature-N) or signature ConfigMaps (.yaml/.json). */
  files: string[];
  now?: Date;
}

export interface SignatureFileResult extends SignatureCheck {
  file: string;
  /** The binaryData key, for a signature from a ConfigMap. */
  entry?: string;
}

/** ConfigMaps may carry many signatures; text beyond this is not a ConfigMap. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

async function readInput(file: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    return await readFile(file);
  } catch (err) {
    throw new BaleError('E_IO', `cannot read signature file ${file}: ${messageOf(err)}`, {
      hint: 'Check the path.',
      cause: err,
      details: { file },
    });
  }
}

export async function verifySignatureFiles(
  opts: VerifySignatureFilesOptions,
): Promise<SignatureFileResult[]> {
  if (opts.digest !== undefined) assertDigest(opts.digest, 'release digest');
  if (opts.files.length === 0) {
    throw new BaleError('E_USAGE', 'no signature files given', { hint: 'Pass one or more signature files.' });
  }
  const keyrings = await loadKeyrings(opts.keyringPaths);
  const verifyOpts = opts.now === undefined ? {} : { now: opts.now };
  const results: SignatureFileResult[] = [];
  for (const file of opts.files) {
    const bytes = await readInput(file);
    // A binary OpenPGP message starts with a packet header byte (high bit set); text is a ConfigMap.
    const first = bytes[0];
    if (first !== undefined && first < 0x80) {
      let parsed;
      try {
        parsed = parseSignatureConfigMap(bytes.toString('utf8'), file);
      } catch (err) {
        if (!isBaleError(err, 'E_SIGNATURE_INVALID')) throw err;
        results.push({ file, ok: false, reason: err.message });
        continue;
      }
      for (const [i, sig] of parsed.signatures.entries()) {
        const check = await verifySignature(sig, keyrings, opts.digest ?? parsed.digest, verifyOpts);
        results.push({ file, entry: `sha256-${parsed.digest.slice(7)}-${i + 1}`, ...check });
      }
      continue;
    }
    if (bytes.length > MAX_SIGNATURE_BYTES) {
      results.push({
        file,
        ok: false,
        reason: `larger than ${MAX_SIGNATURE_BYTES} bytes: not a release signature`,
      });
      continue;
    }
    results.push({ file, ...(await verifySignature(bytes, keyrings, opts.digest, verifyOpts)) });
  }
  return results;
}
