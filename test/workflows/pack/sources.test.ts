/**
 * Where pack reads an image from (src/workflows/pack/sources.ts): the mirror rules of
 * --idms-file, --icsp-file and registries.conf, and the first candidate source that
 * serves the image, against real registries (a mirror, and an original that lacks it).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../src/registry/client.js';
import { MirrorSources } from '../../../src/registry/mirror-sources.js';
import { parseReference } from '../../../src/registry/reference.js';
import type { PackContext } from '../../../src/workflows/pack/context.js';
import { collectFromSources, loadPackMirrors } from '../../../src/workflows/pack/sources.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { pushTinyImage } from '../../helpers/skopeo.js';
import type { TinyImage } from '../../helpers/tiny-image.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';

let mirror: TestRegistry;
let original: TestRegistry;
let empty: TestRegistry;
let client: RegistryClient;
let tmp: string;
let image: TinyImage;

beforeAll(async () => {
  [mirror, original, empty] = await Promise.all([
    startRegistry({ auth: 'none' }),
    startRegistry({ auth: 'none' }),
    startRegistry({ auth: 'none' }),
  ]);
  client = new RegistryClient({ retry: { attempts: 1 } });
  tmp = await makeTempDir('bale-pack-sources-');
  image = await pushTinyImage(mirror, 'ocp/app:v1', 101);
});
afterAll(async () => {
  await client?.close();
  await Promise.all([mirror?.stop(), original?.stop(), empty?.stop()]);
  if (tmp !== undefined) await removeTempDir(tmp);
});

const ctxWith = (mirrors: MirrorSources): PackContext => ({ client, mirrors }) as unknown as PackContext;

async function idms(name: string, source: string, mirrors: string[]): Promise<string> {
  const path = join(tmp, name);
  await writeFile(
    path,
    `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: m\nspec:\n  imageDigestMirrors:\n  - source: ${source}\n    mirrors:\n${mirrors.map((m) => `    - ${m}\n`).join('')}`,
  );
  return path;
}

describe('loadPackMirrors', () => {
  it('nothing given: no rule', async () => {
    expect((await loadPackMirrors({})).configured).toBe(false);
  });

  it('IDMS files, then ICSP files, then registries.conf, in that order', async () => {
    const a = await idms('a.yaml', 'quay.io/a', ['m1.example/a']);
    const icsp = join(tmp, 'icsp.yaml');
    await writeFile(
      icsp,
      'apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata:\n  name: p\nspec:\n  repositoryDigestMirrors:\n  - source: quay.io/b\n    mirrors:\n    - m2.example/b\n',
    );
    const conf = join(tmp, 'registries.conf');
    await writeFile(
      conf,
      '[[registry]]\nprefix = "quay.io/c"\n[[registry.mirror]]\nlocation = "m3.example/c"\n',
    );
    const sources = await loadPackMirrors({
      idmsFiles: [a],
      icspFiles: [icsp],
      registriesConf: { path: conf },
    });
    expect(sources.rules.map((r) => r.prefix)).toEqual(['quay.io/a', 'quay.io/b', 'quay.io/c']);
  });

  it('an ICSP given as --idms-file is refused, naming the right option', async () => {
    const icsp = join(tmp, 'icsp.yaml');
    await expect(loadPackMirrors({ idmsFiles: [icsp] })).rejects.toMatchObject({
      code: 'E_MIRROR_CONFIG_INVALID',
      hint: 'Give it with --icsp-file.',
    });
  });
});

describe('collectFromSources', () => {
  it('by digest: the first mirror that serves it; the origin stays the name the image was given', async () => {
    const sources = (await loadPackMirrors({
      idmsFiles: [await idms('m.yaml', `${original.host}/ocp`, [`${empty.host}/ocp`, `${mirror.host}/ocp`])],
    })) as MirrorSources;
    const ref = parseReference(`${original.host}/ocp/app@${image.manifest.digest}`);
    const got = await collectFromSources(ctxWith(sources), ref);
    expect(got.src).toEqual({ registry: mirror.host, repository: 'ocp/app' });
    expect(got.origin).toEqual({ registry: original.host, repository: 'ocp/app' });
    expect(got.root.digest).toBe(image.manifest.digest);
    expect(got.source.kind).toBe('mirror');
    // the winner first, then the others in order (blob fallback), the original last
    expect(got.sources.map((s) => s.reference.registry)).toEqual([mirror.host, empty.host, original.host]);
  });

  it('by tag through a registries.conf mirror: every source is then asked by the root digest', async () => {
    const conf = join(tmp, 'tags.conf');
    await writeFile(
      conf,
      `[[registry]]\nprefix = "${original.host}/ocp"\n[[registry.mirror]]\nlocation = "${empty.host}/ocp"\n[[registry.mirror]]\nlocation = "${mirror.host}/ocp"\n`,
    );
    const sources = await loadPackMirrors({ registriesConf: { path: conf } });
    const got = await collectFromSources(ctxWith(sources), parseReference(`${original.host}/ocp/app:v1`));
    expect(got.src.registry).toBe(mirror.host);
    expect(got.sources.map((s) => s.reference.digest)).toEqual([
      image.manifest.digest,
      image.manifest.digest,
      image.manifest.digest,
    ]);
  });

  it('no source has it: E_NO_SOURCE naming each source tried', async () => {
    const sources = await loadPackMirrors({
      idmsFiles: [await idms('n.yaml', `${original.host}/ocp`, [`${empty.host}/ocp`])],
    });
    const ref = parseReference(`${original.host}/ocp/app@${image.manifest.digest}`);
    const err = await collectFromSources(ctxWith(sources), ref).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ code: 'E_NO_SOURCE' });
    expect(err?.message).toContain(empty.host);
    expect(err?.message).toContain(original.host);
  });

  it('no rule: the host’s own error, its hint extended by the mirror options', async () => {
    const ref = parseReference(`${original.host}/ocp/app:v1`);
    const err = await collectFromSources(ctxWith(new MirrorSources()), ref).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_NOT_FOUND',
      hint: expect.stringMatching(/--idms-file .*--icsp-file .*--registries-conf/),
    });
    const direct = await collectFromSources(
      ctxWith(new MirrorSources()),
      parseReference(`${mirror.host}/ocp/app:v1`),
    );
    expect(direct).toMatchObject({
      src: { registry: mirror.host, repository: 'ocp/app' },
      origin: { registry: mirror.host, repository: 'ocp/app' },
    });
    expect(direct.sources).toHaveLength(1);
  });
});
