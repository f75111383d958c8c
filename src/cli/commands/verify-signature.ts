import { assertDigest } from '../../digest.js';
import { stringList, withExamples, writeJson } from '../common.js';
import { UsageError } from '../errors.js';
import type { Command } from './types.js';

export const verifySignatureCommand: Command = {
  command: 'verify-signature <signature-file..>',
  describe: 'Check release signature files (signature-N or a signature ConfigMap) against keyrings',
  builder: (y) =>
    withExamples(
      y
        .positional('signature-file', {
          type: 'string',
          array: true,
          describe: 'Signature files (signature-N, binary OpenPGP) or signature ConfigMaps (YAML/JSON)',
        })
        .option('digest', {
          type: 'string',
          description:
            'The release digest (sha256:…) the signatures must sign; without it any digest is shown',
        })
        .option('keyring', {
          type: 'array',
          string: true,
          description:
            'OpenPGP keyring, armored or binary, text before the armor allowed (repeatable). Default: Red Hat release key 2',
        }),
      [
        [
          'verify-signature --digest sha256:<64 hex> signatures/sha256=<64 hex>/signature-1',
          'Check a signature file from a signature store against Red Hat release key 2',
        ],
        [
          'verify-signature --keyring my-release-key.asc config/signature-sha256-0123456789abcdef.yaml',
          'Check every signature in a signature ConfigMap against your own key',
        ],
        ['verify-signature --json signature-1 signature-2', 'A report for tools (exit 1 when none verifies)'],
      ],
    ),
  handler: async (args, ctx) => {
    const digest = args.digest as string | undefined;
    if (digest !== undefined) {
      try {
        assertDigest(digest, '--digest');
      } catch {
        throw new UsageError(
          `--digest ${JSON.stringify(digest)} is not a sha256 digest`,
          'Give sha256: followed by 64 hex characters.',
        );
      }
    }
    const results = await (
      await import('../../workflows/verify-signature/index.js')
    ).verifySignatureFiles({
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
