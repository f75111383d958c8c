import { assertDigest } from '../../digest.js';
import { verifySignatureFiles } from '../../workflows/verify-signature.js';
import { stringList, writeJson } from '../common.js';
import { UsageError } from '../errors.js';
import type { Command } from './types.js';

export const verifySignatureCommand: Command = {
  command: 'verify-signature <signature-file..>',
  describe: 'Check release signature files (signature-N or a signature ConfigMap) against keyrings',
  builder: (y) =>
    y
      .positional('signature-file', { type: 'string', array: true, describe: 'Signature files or ConfigMaps' })
      .option('digest', { type: 'string', description: 'The release digest (sha256:…) the signatures must sign' })
      .option('keyring', {
        type: 'array',
        string: true,
        description: 'OpenPGP keyring, armored or binary (repeatable). Default: Red Hat release key 2',
      })
      .example('$0 verify-signature --digest sha256:… --keyring redhat.asc signature-1', 'Check one signature file')
      .example('$0 verify-signature config/signature-sha256-0123456789abcdef.yaml', 'Check a signature ConfigMap'),
  handler: async (args, ctx) => {
    const digest = args.digest as string | undefined;
    if (digest !== undefined) {
      try {
        assertDigest(digest, '--digest');
      } catch {
        throw new UsageError(`--digest ${JSON.stringify(digest)} is not a sha256 digest`, 'Give sha256: followed by 64 hex characters.');
      }
    }
    const results = await verifySignatureFiles({
      digest,
      keyringPaths: stringList(args.keyring),
      files: stringList(args['signature-file']),
    });
    const anyOk = results.some((r) => r.ok);
    if (args.json) {
      writeJson(ctx, { ok: anyOk, digest, results });
      return anyOk ? 0 : 1;
    }
    for (const r of results) {
      const name = r.entry ? `${r.file} (${r.entry})` : r.file;
      ctx.stdout.write(`${r.ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${name}\n`);
      if (r.keyId) ctx.stdout.write(`  signer:   ${r.keyId}${r.userId ? ` ${r.userId}` : ''}\n`);
      if (r.identity) ctx.stdout.write(`  identity: ${r.identity}\n`);
      if (r.digest) ctx.stdout.write(`  digest:   ${r.digest}\n`);
      if (!r.ok && r.reason) ctx.stdout.write(`  reason:   ${r.reason}\n`);
    }
    return anyOk ? 0 : 1;
  },
};
