/**
 * Verify step 5 on a real bundle built by bale's own writer: signatures checked with
 * the release keyring, the signed release's payload read back from the volumes, and
 * the trust chain computed from them; an audit that already failed names the cause,
 * not every item the damage cuts off from the chain.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../../fixtures/hostile/valid-bundle.js';
import { bundleOf } from '../../../src/bundle/open-bundle.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import type { Problem } from '../../../src/bundle/problem.js';
import { readBundleFiles } from '../../../src/bundle/verify-steps/bundle-files.js';
import { readVolumes } from '../../../src/bundle/verify-steps/read-volumes.js';
import { checkTrust } from '../../../src/bundle/verify-steps/trust.js';
import type { VerifyOptions, VerifyReport } from '../../../src/bundle/verify-bundle.js';
import { silentProgress } from '../../../src/progress.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

let root: string;
let key: SigningKey;
let other: SigningKey;
let b: ValidBundle;
let rawIndex: Buffer;
let content: Map<string, Buffer>;

beforeAll(async () => {
  root = await makeTempDir('bale-trust-step-');
  key = await makeSigningKey();
  other = await makeSigningKey();
  b = await buildValidBundle(join(root, 'b'), key);
  const problems: Problem[] = [];
  const files = await readBundleFiles(b.dir, (p) => problems.push(p), { wholeBundle: true });
  if (!files.rawIndex || !files.index || problems.length > 0)
    throw new Error(`fixture: ${JSON.stringify(problems)}`);
  rawIndex = files.rawIndex;
  const found = await readVolumes(
    bundleOf(b.dir, { rawIndex, index: files.index }),
    undefined,
    { progress: silentProgress },
    (p) => problems.push(p),
  );
  if (problems.length > 0) throw new Error(`fixture: ${JSON.stringify(problems)}`);
  content = found.content;
}, 120_000);
afterAll(async () => {
  await removeTempDir(root);
});

function emptyReport(problems: Problem[] = []): VerifyReport {
  return {
    ok: true,
    problems,
    checked: { files: 0, volumes: 0, entries: 0, bytes: 0, manifests: 0, tags: 0, signatures: 0 },
    signatures: [],
  };
}

async function run(
  opts: VerifyOptions,
  o: { content?: Map<string, Buffer>; tooLarge?: Set<string>; earlier?: Problem[]; index?: BundleIndex } = {},
): Promise<{ report: VerifyReport; problems: Problem[] }> {
  const report = emptyReport([...(o.earlier ?? [])]);
  const problems: Problem[] = [];
  await checkTrust(
    bundleOf(b.dir, { rawIndex, index: o.index ?? b.index }),
    rawIndex,
    o.content ?? content,
    o.tooLarge ?? new Set(),
    opts,
    report,
    (p) => {
      problems.push(p);
      report.problems.push(p);
    },
  );
  return { report, problems };
}

describe('checkTrust', () => {
  it('a valid bundle with its release key: the release payload read back, every item anchored by the release signature', async () => {
    const { report, problems } = await run({ keyrings: [key.keyring] });
    expect(problems).toEqual([]);
    expect(report.checked.signatures).toBe(2); // the signature file and the one in the ConfigMap
    expect(report.signatures.every((s) => s.ok && s.keyId === key.keyId)).toBe(true);
    expect(report.releases?.map((r) => r.version)).toEqual(['4.18.1']);
    expect(report.release?.components.map((c) => c.name)).toEqual(['cli']);
    expect(report.clusterFiles?.map((f) => f.path)).toEqual([b.paths.configMap]);
    expect(report.trust?.unanchored).toBe(0);
    const anchors = new Set(report.trust?.items.map((i) => i.anchor));
    expect(anchors).toEqual(new Set(['release-signature']));
    expect(
      report.trust?.items.some((i) => i.kind === 'tag' && i.name === `openshift/release:4.18.1-x86_64-cli`),
    ).toBe(true);
    expect(report.sigstore).toBeUndefined();
  });

  it('with another key: the signatures are untrusted, no payload is read, everything is unanchored', async () => {
    const { report, problems } = await run({ keyrings: [other.keyring] });
    const codes = new Set(problems.map((p) => p.code));
    expect(codes.has('E_SIGNATURE_UNTRUSTED')).toBe(true);
    expect(report.releases).toEqual([]);
    expect(report.release).toBeUndefined();
    expect(report.trust?.items.every((i) => i.anchor === 'none')).toBe(true);
    // The cause (the signatures) is reported, not each item it cuts off: E_UNANCHORED are
    // only kept when nothing failed before the chain was computed.
    expect(codes.has('E_UNANCHORED')).toBe(false);
  });

  /** The bundle plus a blob no signed image reaches. */
  const withStray = (): BundleIndex => ({
    ...b.index,
    entries: [
      ...b.index.entries,
      {
        path: `v2/extra/tool/blobs/sha256:${'7'.repeat(64)}`,
        type: 'file',
        size: 1,
        sha256: '7'.repeat(64),
        volume: 'volume-001.tar.zst',
      },
    ],
  });

  it('with no problem before it, an unanchored item is reported', async () => {
    const { problems } = await run({ keyrings: [key.keyring] }, { index: withStray() });
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'E_UNANCHORED',
        entry: `v2/extra/tool/blobs/sha256:${'7'.repeat(64)}`,
      }),
    ]);
  });

  it('after an earlier problem, E_UNANCHORED is left out but other codes are kept', async () => {
    const earlier: Problem[] = [
      { code: 'E_BUNDLE_CORRUPT', volume: 'volume-001.tar.zst', message: 'damaged' },
    ];
    const { problems, report } = await run({ keyrings: [key.keyring] }, { index: withStray(), earlier });
    expect(problems).toEqual([]);
    expect(report.trust?.unanchored).toBe(1);
    const withoutSigs = new Map(
      [...content].filter(([p]) => !p.startsWith('signatures/') && !p.startsWith('config/')),
    );
    const again = await run({ keyrings: [key.keyring] }, { content: withoutSigs, earlier });
    expect(again.problems.some((p) => p.code === 'E_UNANCHORED')).toBe(false);
    expect(again.problems.some((p) => p.code === 'E_SIGNATURE_NONE')).toBe(true);
  });

  it('with --allow-unsigned and no trusted key: items are reported as unsigned, not as problems of the chain', async () => {
    const { report, problems } = await run({ keyrings: [other.keyring], allowUnsigned: true });
    expect(report.trust?.allowUnsigned).toBe(true);
    expect(report.trust?.items.every((i) => i.anchor === 'unsigned')).toBe(true);
    expect(problems.some((p) => p.code === 'E_UNANCHORED')).toBe(false);
  });

  it('a signature too large to keep in memory is E_TOO_LARGE naming it', async () => {
    const { problems } = await run(
      { keyrings: [key.keyring] },
      { tooLarge: new Set([b.paths.signature, 'v2/x/blobs/y']) },
    );
    expect(problems).toContainEqual({
      code: 'E_TOO_LARGE',
      entry: b.paths.signature,
      message: `${b.paths.signature} is larger than 4194304 bytes`,
    });
    expect(problems.filter((p) => p.code === 'E_TOO_LARGE')).toHaveLength(1);
  });

  it('a signed release whose payload cannot be read: its components are not anchored, and it says why', async () => {
    // Read the payload from a directory that does not hold the volumes.
    const report = emptyReport();
    const problems: Problem[] = [];
    await checkTrust(
      bundleOf(join(root, 'nowhere'), { rawIndex, index: b.index }),
      rawIndex,
      content,
      new Set(),
      { keyrings: [key.keyring] },
      report,
      (p) => problems.push(p),
    );
    const p = problems.find((x) => /payload of release 4\.18\.1 cannot be read/.test(x.message));
    expect(p).toMatchObject({
      digest: b.releaseDigest,
      message: expect.stringContaining('its components are not anchored') as string,
    });
    expect(report.releases).toEqual([]);
    // The release itself is still anchored by its signature; its component is not.
    const cli = b.index.images.find((i) => i.name === 'cli');
    expect(report.trust?.items.find((i) => i.name === `${cli?.repository}@${cli?.digest}`)?.anchor).toBe(
      'none',
    );
    expect(report.trust?.items.find((i) => i.name === `openshift/release@${b.releaseDigest}`)?.anchor).toBe(
      'release-signature',
    );
  });

  it('without --keyring it uses the shipped Red Hat key, which did not sign this bundle', async () => {
    const { problems } = await run({});
    expect(problems.some((p) => p.code === 'E_KEYRING')).toBe(false);
    expect(problems.some((p) => p.code === 'E_SIGNATURE_UNTRUSTED')).toBe(true);
  });
});
