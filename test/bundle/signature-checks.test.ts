/**
 * checkSignatures: the release keyring for signatures/… files and signature ConfigMaps,
 * the index keyring for bundle.json.asc, never mixed. Real Red Hat and openshift-ci
 * signatures from fixtures/data; a throwaway key for bundle.json.asc; real files in a
 * temp directory for the .asc.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkSignatures,
  signatureProblemCode,
  type SignatureFindings,
} from '../../src/bundle/signature-checks.js';
import type { BundleEntry, BundleIndex, BundleSignature } from '../../src/bundle/index-schema.js';
import type { Problem } from '../../src/bundle/problem.js';
import { loadKeyring, parseKeyring, type Keyring } from '../../src/signature/keyring.js';
import { generateKey, signDetached } from '../../src/signature/sign.js';
import { signatureConfigMap } from '../../src/signature/configmap.js';
import { CI, CI_KEYRING, REDHAT, REDHAT_KEYRING, readSignature } from '../signature/realdata.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const hex = (digest: string): string => digest.slice('sha256:'.length);
const sigPath = (digest: string, n = 1): string => `signatures/sha256=${hex(digest)}/signature-${n}`;
const entry = (path: string): BundleEntry => ({
  path,
  type: 'file',
  size: 1,
  sha256: '0'.repeat(64),
  volume: 'volume-001.tar.zst',
});
const record = (digest: string, over: Partial<BundleSignature> = {}): BundleSignature => ({
  digest,
  path: sigPath(digest),
  keyId: REDHAT.keyId,
  userId: REDHAT.userId,
  identity: REDHAT.identity,
  source: 'https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release',
  ...over,
});

function bundle(over: Partial<BundleIndex> = {}): BundleIndex {
  return {
    schema: 'bale.bundle/v2',
    baleVersion: '0.0.0',
    created: '2026-01-01T00:00:00Z',
    volumeSize: 1 << 20,
    releases: [
      {
        version: '7.6.0',
        architecture: 'x86_64',
        digest: REDHAT.digest,
        source: 'registry.access.redhat.com/rhel7',
        repository: 'openshift/release',
        tag: '7.6.0-x86_64',
      },
    ],
    images: [],
    signatures: [record(REDHAT.digest)],
    manifests: [],
    volumes: [],
    entries: [entry(sigPath(REDHAT.digest))],
    ...over,
  };
}

let redhat: Keyring;
let ci: Keyring;
let indexKey: { privateKeyArmored: string; keyring: Keyring; keyId: string };
let dir: string;
const rhSig = readSignature(REDHAT.digest);
const ciSig = readSignature(CI.digest);

beforeAll(async () => {
  redhat = await loadKeyring(REDHAT_KEYRING);
  ci = await loadKeyring(CI_KEYRING);
  const k = await generateKey('Site', 'site@example.com');
  indexKey = {
    privateKeyArmored: k.privateKeyArmored,
    keyring: await parseKeyring(k.publicKeyArmored, 'site key'),
    keyId: k.keyId,
  };
  dir = await makeTempDir('bale-sigchecks-');
}, 60_000);
afterAll(async () => {
  await removeTempDir(dir);
});

async function check(o: {
  index?: BundleIndex;
  content?: Map<string, Buffer>;
  keyrings?: Keyring[];
  indexKeyrings?: Keyring[];
  rawIndex?: Buffer;
  dir?: string;
}): Promise<SignatureFindings & { problems: Problem[] }> {
  const problems: Problem[] = [];
  const f = await checkSignatures({
    dir: o.dir ?? dir,
    index: o.index ?? bundle(),
    rawIndex: o.rawIndex,
    content: o.content ?? new Map([[sigPath(REDHAT.digest), rhSig]]),
    keyrings: o.keyrings ?? [redhat],
    indexKeyrings: o.indexKeyrings,
    add: (p) => problems.push(p),
  });
  return { ...f, problems };
}

describe('signatureProblemCode', () => {
  it('is UNTRUSTED for an unknown, expired or revoked key, INVALID otherwise', () => {
    expect(signatureProblemCode({ ok: false, reason: 'key 1234 is not in the keyrings' })).toBe(
      'E_SIGNATURE_UNTRUSTED',
    );
    expect(signatureProblemCode({ ok: false, reason: 'the key expired' })).toBe('E_SIGNATURE_UNTRUSTED');
    expect(signatureProblemCode({ ok: false, reason: 'the key was revoked' })).toBe('E_SIGNATURE_UNTRUSTED');
    expect(signatureProblemCode({ ok: false, reason: 'digest mismatch' })).toBe('E_SIGNATURE_INVALID');
    expect(signatureProblemCode({ ok: false })).toBe('E_SIGNATURE_INVALID');
  });
});

describe('signature files', () => {
  it('a genuine signature vouches for its release digest, with the identity and key it names', async () => {
    const f = await check({});
    expect(f.problems).toEqual([]);
    expect(f.signed.get(REDHAT.digest)).toEqual({
      kind: 'release',
      identities: [REDHAT.identity],
      keyIds: [REDHAT.keyId],
    });
    expect(f.results).toEqual([
      expect.objectContaining({
        ok: true,
        path: sigPath(REDHAT.digest),
        kind: 'release',
        expectedDigest: REDHAT.digest,
      }),
    ]);
    expect(f.index).toEqual({ state: 'unsigned' });
  });

  it('a signature by a key not in the release keyring is E_SIGNATURE_UNTRUSTED, and the release is not signed', async () => {
    const f = await check({ keyrings: [ci] });
    expect(f.signed.size).toBe(0);
    expect(f.problems).toHaveLength(1);
    expect(f.problems[0]).toMatchObject({
      code: 'E_SIGNATURE_UNTRUSTED',
      entry: sigPath(REDHAT.digest),
      digest: REDHAT.digest,
      volume: 'volume-001.tar.zst',
    });
    expect(f.problems[0]?.message).toMatch(new RegExp(`^${sigPath(REDHAT.digest)}: `));
  });

  it('the index keyring is never used for release signatures', async () => {
    const f = await check({ keyrings: [ci], indexKeyrings: [redhat] });
    expect(f.signed.has(REDHAT.digest)).toBe(false);
    expect(f.problems.map((p) => p.code)).toContain('E_SIGNATURE_UNTRUSTED');
  });

  it('a genuine signature filed under another digest does not verify (E_SIGNATURE_INVALID) and vouches for nothing', async () => {
    const other = `sha256:${'ab'.repeat(32)}`;
    const index = bundle({
      releases: [
        {
          version: '7.6.0',
          architecture: 'x86_64',
          digest: other,
          source: 'r.example.com/x',
          repository: 'openshift/release',
          tag: '7.6.0-x86_64',
        },
      ],
      signatures: [record(other)],
      entries: [entry(sigPath(other))],
    });
    const f = await check({ index, content: new Map([[sigPath(other), rhSig]]) });
    expect(f.signed.size).toBe(0);
    expect(f.problems).toEqual([
      expect.objectContaining({ code: 'E_SIGNATURE_INVALID', entry: sigPath(other), digest: other }),
    ]);
  });

  it('a signature whose signer or identity differs from what bundle.json records is E_SIGNATURE_INVALID', async () => {
    const index = bundle({
      signatures: [record(REDHAT.digest, { identity: 'quay.io/evil/release:4.18.1' })],
    });
    const f = await check({ index });
    expect(f.signed.size).toBe(0);
    expect(f.problems).toEqual([
      expect.objectContaining({
        code: 'E_SIGNATURE_INVALID',
        message: `${sigPath(REDHAT.digest)}: signed by ${REDHAT.keyId} for ${REDHAT.identity}, bundle.json says ${REDHAT.keyId} for quay.io/evil/release:4.18.1`,
      }),
      // It verified, but vouches for nothing: the release is left with no signature.
      expect.objectContaining({ code: 'E_SIGNATURE_NONE', digest: REDHAT.digest }),
    ]);
  });

  it('a path under signatures/ that is not sha256=<hex>/signature-<N> is E_BUNDLE_INVALID', async () => {
    const bad = `signatures/sha256=${hex(REDHAT.digest)}/signature-0`;
    const f = await check({ index: bundle({ entries: [entry(sigPath(REDHAT.digest)), entry(bad)] }) });
    expect(f.problems).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        volume: 'volume-001.tar.zst',
        entry: bad,
        message: `${bad} is not signatures/sha256=<hex>/signature-<N>`,
      },
    ]);
  });

  it('a signature bundle.json lists that is not an entry is E_BUNDLE_INVALID; the release then has none', async () => {
    const f = await check({ index: bundle({ entries: [] }), content: new Map() });
    expect(f.problems).toEqual([
      {
        code: 'E_BUNDLE_INVALID',
        entry: sigPath(REDHAT.digest),
        message: `bundle.json lists release signature ${sigPath(REDHAT.digest)}, which is not an entry`,
      },
      {
        code: 'E_SIGNATURE_NONE',
        digest: REDHAT.digest,
        message: `no signature in the bundle verifies the release 7.6.0 (${REDHAT.digest})`,
      },
    ]);
  });

  it('each release needs a signature of its own: one signed release vouches for no other', async () => {
    const index = bundle({
      releases: [
        ...bundle().releases,
        {
          version: '4.0.0',
          architecture: 'x86_64',
          digest: CI.digest,
          source: 'r.example.com/ocp/release',
          repository: 'openshift/release',
          tag: '4.0.0-x86_64',
        },
      ],
    });
    const f = await check({ index });
    expect(f.problems).toEqual([expect.objectContaining({ code: 'E_SIGNATURE_NONE', digest: CI.digest })]);
  });

  it('an unlisted signature file of the graph-data digest counts as a graph-data signature', async () => {
    const index = bundle({
      releases: [],
      signatures: [],
      graphData: {
        revision: 'r',
        digest: CI.digest,
        source: 'q.example.com/g',
        repository: 'openshift/graph-data',
        tag: '1',
        signatures: [],
      },
      entries: [entry(sigPath(CI.digest))],
    });
    const f = await check({ index, keyrings: [ci], content: new Map([[sigPath(CI.digest), ciSig]]) });
    expect(f.problems).toEqual([]);
    expect(f.signed.get(CI.digest)?.kind).toBe('graph-data');
  });
});

describe('signature ConfigMaps', () => {
  const cmPath = `config/signature-sha256-${hex(REDHAT.digest)}.yaml`;
  const withConfigMap = (
    text: string,
    releases?: BundleIndex['releases'],
  ): { index: BundleIndex; content: Map<string, Buffer> } => ({
    index: bundle({ signatures: [], entries: [entry(cmPath)], ...(releases ? { releases } : {}) }),
    content: new Map([[cmPath, Buffer.from(text)]]),
  });

  it('a ConfigMap whose every signature verifies is verified and vouches for the release', async () => {
    const f = await check(withConfigMap(signatureConfigMap(REDHAT.digest, [rhSig])));
    expect(f.problems).toEqual([]);
    expect(f.verifiedConfigMaps).toEqual(new Set([cmPath]));
    expect(f.signed.get(REDHAT.digest)?.identities).toEqual([REDHAT.identity]);
    expect(f.results[0]).toMatchObject({ path: `${cmPath} (signature 1)`, kind: 'configmap' });
  });

  it('one bad signature among good ones: the ConfigMap is not verified, the bad one named by number', async () => {
    const f = await check(withConfigMap(signatureConfigMap(REDHAT.digest, [rhSig, ciSig])));
    expect(f.verifiedConfigMaps.size).toBe(0);
    expect(f.signed.has(REDHAT.digest)).toBe(true);
    expect(f.problems).toEqual([
      expect.objectContaining({
        code: 'E_SIGNATURE_UNTRUSTED',
        entry: cmPath,
        message: expect.stringMatching(/\(signature 2\)/) as string,
      }),
    ]);
  });

  it('a ConfigMap for a digest that is not a release of the bundle is E_SIGNATURE_INVALID', async () => {
    const other = `sha256:${'cd'.repeat(32)}`;
    const f = await check(withConfigMap(signatureConfigMap(other, [rhSig])));
    expect(f.problems).toContainEqual(
      expect.objectContaining({
        code: 'E_SIGNATURE_INVALID',
        entry: cmPath,
        digest: other,
        message: expect.stringMatching(/is not a release of the bundle/) as string,
      }),
    );
    expect(f.verifiedConfigMaps.size).toBe(0);
  });

  it('a ConfigMap that does not parse is reported with the parser code, naming the entry', async () => {
    const f = await check(withConfigMap('kind: Secret\n'));
    expect(f.problems[0]).toMatchObject({ code: 'E_SIGNATURE_INVALID', entry: cmPath });
    expect(f.problems[0]?.message).toContain(cmPath);
  });
});

describe('bundle.json.asc', () => {
  const raw = Buffer.from('{"schema":"bale.bundle/v2"}\n');
  const ascDir = async (name: string, asc: string | undefined): Promise<string> => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    if (asc !== undefined) await writeFile(join(d, 'bundle.json.asc'), asc);
    return d;
  };

  it('verifies with the index keyring: signed, naming the key', async () => {
    const d = await ascDir('good', await signDetached(raw, indexKey.privateKeyArmored));
    const f = await check({ dir: d, rawIndex: raw, indexKeyrings: [indexKey.keyring] });
    expect(f.problems).toEqual([]);
    expect(f.index).toMatchObject({
      state: 'signed',
      keyId: indexKey.keyId,
      userId: 'Site <site@example.com>',
    });
    expect(f.results.at(-1)).toMatchObject({ ok: true, kind: 'index', path: 'bundle.json.asc' });
  });

  it('present without an index keyring: not checked, no problem', async () => {
    const d = await ascDir('unchecked', await signDetached(raw, indexKey.privateKeyArmored));
    const f = await check({ dir: d, rawIndex: raw });
    expect(f.problems).toEqual([]);
    expect(f.index.state).toBe('not-checked');
  });

  it('over a changed bundle.json: invalid, E_SIGNATURE_INVALID naming the file', async () => {
    const d = await ascDir('tampered', await signDetached(raw, indexKey.privateKeyArmored));
    const f = await check({
      dir: d,
      rawIndex: Buffer.from('{"schema":"bale.bundle/v2" }\n'),
      indexKeyrings: [indexKey.keyring],
    });
    expect(f.index.state).toBe('invalid');
    expect(f.problems).toEqual([
      expect.objectContaining({ code: 'E_SIGNATURE_INVALID', file: 'bundle.json.asc' }),
    ]);
  });

  it('by a key only in the release keyring: untrusted, since the keyrings never mix', async () => {
    const d = await ascDir('wrong-ring', await signDetached(raw, indexKey.privateKeyArmored));
    const f = await check({
      dir: d,
      rawIndex: raw,
      keyrings: [redhat, indexKey.keyring],
      indexKeyrings: [ci],
    });
    expect(f.index.state).toBe('invalid');
    expect(f.problems).toEqual([
      expect.objectContaining({ code: 'E_SIGNATURE_UNTRUSTED', file: 'bundle.json.asc' }),
    ]);
  });

  it('missing while --index-keyring asks for it: E_SIGNATURE_NONE', async () => {
    const d = await ascDir('missing', undefined);
    const f = await check({ dir: d, rawIndex: raw, indexKeyrings: [indexKey.keyring] });
    expect(f.index.state).toBe('unsigned');
    expect(f.problems).toEqual([
      {
        code: 'E_SIGNATURE_NONE',
        file: 'bundle.json.asc',
        message:
          'bundle.json is not signed (no bundle.json.asc), but --index-keyring asks for a bundle signature',
      },
    ]);
  });

  it('a directory or an oversized file at bundle.json.asc is E_BUNDLE_INVALID, whatever the keyrings', async () => {
    const d = await ascDir('as-dir', undefined);
    await mkdir(join(d, 'bundle.json.asc'));
    const f = await check({ dir: d, rawIndex: raw });
    expect(f.index.state).toBe('invalid');
    expect(f.problems).toEqual([
      expect.objectContaining({
        code: 'E_BUNDLE_INVALID',
        file: 'bundle.json.asc',
        message: expect.stringMatching(/^bundle\.json\.asc cannot be read: .*not a regular file/) as string,
      }),
    ]);
    const big = await ascDir('big', 'x'.repeat(64 * 1024 + 1));
    const g = await check({ dir: big, rawIndex: raw, indexKeyrings: [indexKey.keyring] });
    expect(g.problems).toEqual([
      expect.objectContaining({ code: 'E_BUNDLE_INVALID', file: 'bundle.json.asc' }),
    ]);
  });

  it('bundle.json that could not be read is invalid, not signed', async () => {
    const d = await ascDir('noindex', await signDetached(raw, indexKey.privateKeyArmored));
    const f = await check({ dir: d, indexKeyrings: [indexKey.keyring] });
    expect(f.index).toEqual({ state: 'invalid', reason: 'bundle.json could not be read' });
  });
});
