/**
 * resolveGraphData against a real registry (the Debian docker-registry, images pushed
 * with skopeo): the graph-data image's source-revision label, its tag, and the
 * `signature-<revision>` image of the same repository, whose layer is read for
 * `sha256=<hex>/signature-N` files only (hostile names, other digests, oversized files
 * and more than nine signatures are left out).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type Repo } from '../../src/registry/client.js';
import { loadCredentials } from '../../src/registry/credentials.js';
import { resolveGraphData } from '../../src/release/graph-data.js';
import { BaleError } from '../../src/errors.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

let reg: TestRegistry;
let work: string;
let client: RegistryClient;
const repo = (repository: string): Repo => ({ registry: reg.host, repository });

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  work = await makeTempDir('bale-graph-data-');
  const credentials = await loadCredentials({ registryConfig: reg.authFile, env: {}, homeDir: work });
  client = new RegistryClient({ credentials });
}, 60_000);
afterAll(async () => {
  await client.close();
  await reg.stop();
  await removeTempDir(work);
});

async function caught(p: Promise<unknown>): Promise<BaleError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BaleError) return err;
    throw err;
  }
  throw new Error('expected a BaleError');
}

describe('resolveGraphData', () => {
  it('without a signature image: the revision, the tag, no candidates', async () => {
    await pushTinyImage(reg, `${reg.host}/graph/plain:latest`, 11, {
      labels: { 'source-revision': 'abc123' },
    });
    const g = await resolveGraphData(client, repo('graph/plain'), 'latest');
    expect(g.revision).toBe('abc123');
    expect(g.tag).toBe('latest');
    expect(g.signatureTag).toBe('signature-abc123');
    expect(g.signatureRoot).toBeUndefined();
    expect(g.candidates).toEqual([]);
    expect(g.root.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reads the signatures for its digest from the signature image, and only those', async () => {
    const r = 'graph/signed';
    await pushTinyImage(reg, `${reg.host}/${r}:latest`, 12, { labels: { 'source-revision': 'rev-1.2_x' } });
    const digest = (await resolveGraphData(client, repo(r), 'latest')).root.digest;
    const hex = digest.slice(7);
    const other = '0'.repeat(64);
    await pushTinyImage(reg, `${reg.host}/${r}:signature-rev-1.2_x`, 13, {
      files: {
        [`sha256=${hex}/signature-2`]: 'second',
        [`sha256=${hex}/signature-1`]: 'first',
        [`./sha256=${hex}/signature-3`]: 'dot-slash prefix is stripped',
        [`sha256=${hex}/signature-10`]: 'not signature-[1-9]',
        [`sha256=${hex}/signature-0`]: 'not numbered from 1',
        [`sha256=${hex}/notes`]: 'not a signature name',
        [`sha256=${other}/signature-1`]: 'another digest',
        [`sha256=${hex}/signature-4`]: Buffer.alloc(50 * 1024 + 1, 1),
        [`sha256=${hex}/signature-5`]: Buffer.alloc(50 * 1024, 2),
      },
    });
    const g = await resolveGraphData(client, repo(r), digest);
    expect(g.revision).toBe('rev-1.2_x');
    // Asked by digest: the tag it is carried under is `latest`.
    expect(g.tag).toBe('latest');
    expect(g.signatureRoot).toBeDefined();
    expect(g.candidates.map((c) => [c.source, c.bytes.length])).toEqual([
      [`${reg.host}/${r}:signature-rev-1.2_x/sha256=${hex}/signature-1`, 5],
      [`${reg.host}/${r}:signature-rev-1.2_x/sha256=${hex}/signature-2`, 6],
      [`${reg.host}/${r}:signature-rev-1.2_x/sha256=${hex}/signature-3`, 28],
      [`${reg.host}/${r}:signature-rev-1.2_x/sha256=${hex}/signature-5`, 50 * 1024],
    ]);
    expect(g.candidates[0]?.bytes.toString()).toBe('first');
  });

  it('keeps at most nine signatures', async () => {
    const r = 'graph/many';
    await pushTinyImage(reg, `${reg.host}/${r}:v1`, 14, { labels: { 'source-revision': 'many' } });
    const hex = (await resolveGraphData(client, repo(r), 'v1')).root.digest.slice(7);
    const files: Record<string, string> = {};
    for (let i = 1; i <= 9; i++) files[`sha256=${hex}/signature-${i}`] = `s${i}`;
    // The same names again behind `./`: eighteen matching entries in all.
    for (let i = 1; i <= 9; i++) files[`./sha256=${hex}/signature-${i}`] = `t${i}`;
    files[`sha256=${hex}/signature-9/../signature-1`] = 'traversal';
    await pushTinyImage(reg, `${reg.host}/${r}:signature-many`, 15, { files });
    const g = await resolveGraphData(client, repo(r), 'v1');
    expect(g.tag).toBe('v1');
    expect(g.candidates).toHaveLength(9);
    expect(g.candidates.map((c) => c.bytes.toString())).toEqual([
      's1',
      's2',
      's3',
      's4',
      's5',
      's6',
      's7',
      's8',
      's9',
    ]);
  });

  it('an image without a source-revision label is E_RELEASE_INVALID naming it, with a hint', async () => {
    await pushTinyImage(reg, `${reg.host}/graph/nolabel:latest`, 16);
    const err = await caught(resolveGraphData(client, repo('graph/nolabel'), 'latest'));
    expect(err.code).toBe('E_RELEASE_INVALID');
    expect(err.message).toBe(
      `graph-data image ${reg.host}/graph/nolabel has no usable source-revision label`,
    );
    expect(err.hint).toMatch(/LABEL source-revision=/);
  });

  it('a source-revision that could not be a tag is refused (it names the signature image)', async () => {
    await pushTinyImage(reg, `${reg.host}/graph/badlabel:latest`, 17, {
      labels: { 'source-revision': '../x:y' },
    });
    const err = await caught(resolveGraphData(client, repo('graph/badlabel'), 'latest'));
    expect(err.code).toBe('E_RELEASE_INVALID');
  });

  it('a graph-data image that does not exist is E_NOT_FOUND', async () => {
    const err = await caught(resolveGraphData(client, repo('graph/missing'), 'latest'));
    expect(err.code).toBe('E_NOT_FOUND');
  });
});
