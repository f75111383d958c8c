import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { inspectBundle } from '../../../src/workflows/inspect/index.js';
import { renderCsv, renderJson, renderTable, renderYaml } from '../../../src/cli/inspect-render.js';
import {
  buildValidBundle,
  makeSigningKey,
  type SigningKey,
  type ValidBundle,
} from '../../../fixtures/hostile/valid-bundle.js';

let root: string;
let key: SigningKey;
let b: ValidBundle;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bale-inspect-'));
  key = await makeSigningKey();
  b = await buildValidBundle(join(root, 'b'), key);
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test('reports release, images, volumes and signatures from the index', async () => {
  const r = await inspectBundle(b.dir);
  expect(r.release?.digest).toBe(b.releaseDigest);
  expect(r.images.map((i) => i.name)).toEqual(['release', 'cli']);
  expect(r.volumes.length).toBe(b.index.volumes.length);
  expect(r.signatures).toEqual([expect.objectContaining({ keyId: key.keyId, kind: 'release' })]);
  expect(r.signatures[0]?.verified).toBeUndefined();
  expect(r.manifests).toEqual([b.paths.configMap]);
  expect(renderTable(r)).toContain('not checked');
  const csv = renderCsv(r).trim().split('\n');
  expect(csv).toHaveLength(3);
  expect(csv[1]).toContain(b.releaseDigest);
  expect(JSON.parse(renderJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  expect(YAML.parse(renderYaml(r))).toEqual(JSON.parse(JSON.stringify(r)));
});

test('deep: signatures checked against the keyrings', async () => {
  const good = await inspectBundle(b.dir, { deep: true, keyrings: [key.keyring] });
  expect(good.verification?.ok).toBe(true);
  expect(good.signatures.map((s) => s.verified)).toEqual([true, true]);
  const other = await makeSigningKey();
  const bad = await inspectBundle(b.dir, { deep: true, keyrings: [other.keyring] });
  expect(bad.verification?.ok).toBe(false);
  expect(bad.signatures.map((s) => s.verified)).toEqual([false, false]);
  expect(renderTable(bad)).toContain('NO (');
});
