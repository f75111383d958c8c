import { describe, expect, it } from 'vitest';
import { isBaleError } from '../../src/errors.js';
import { parsePromoterManifest } from '../../src/imageset/promoter-manifest.js';
import { mulberry32 } from '../helpers/prng.js';

const D1 = `sha256:${'e8'.repeat(32)}`;
const D2 = `sha256:${'15'.repeat(32)}`;

const PLAIN = `registries:
- name: gcr.io/myproject-staging-area # publicly readable
  src: true
- name: gcr.io/myproject-production
  service-account: foo@google-containers.iam.gserviceaccount.com
images:
- name: apple
  dmap:
    "${D1}": ["1.1", "latest"]
    "${D2}": []
- name: banana/split
  dmap:
    "${D2}": ["v2"]
`;

function errorOf(text: string): { code: string; message: string } {
  try {
    parsePromoterManifest(text, 'promoter.yaml');
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the parse to fail');
}

describe('parsePromoterManifest', () => {
  it('pins every image by digest, tags from the dmap, named relative to the source registry', () => {
    const set = parsePromoterManifest(PLAIN, 'promoter.yaml');
    expect(set.format).toBe('promoter-manifest');
    expect(set.channels).toEqual([]);
    expect(set.promotedImages).toEqual([
      {
        name: 'apple',
        tags: ['1.1', 'latest'],
        file: 'promoter.yaml',
        source: { registry: 'gcr.io', repository: 'myproject-staging-area/apple', digest: D1 },
      },
      {
        name: 'apple',
        tags: [],
        file: 'promoter.yaml',
        source: { registry: 'gcr.io', repository: 'myproject-staging-area/apple', digest: D2 },
      },
      {
        name: 'banana/split',
        tags: ['v2'],
        file: 'promoter.yaml',
        source: { registry: 'gcr.io', repository: 'myproject-staging-area/banana/split', digest: D2 },
      },
    ]);
  });

  it.each([
    [
      'an image without dmap (missing digest)',
      PLAIN.replace(/- name: banana\/split\n {2}dmap:\n.*\n/, '- name: banana/split\n'),
      'images[1].dmap: is required: every image is pinned by digest',
    ],
    [
      'an empty dmap',
      PLAIN.replace(/- name: banana\/split\n {2}dmap:\n.*\n/, '- name: banana/split\n  dmap: {}\n'),
      'images[1].dmap: names no digest',
    ],
    [
      'a tag instead of a digest',
      PLAIN.replace(`"${D2}": ["v2"]`, '"v2": ["v2"]'),
      'images[1].dmap.v2: "v2" is not a digest',
    ],
    ['a short digest', PLAIN.replace(`"${D2}": ["v2"]`, '"sha256:abc": ["v2"]'), 'is not a digest'],
    [
      'an unknown image field',
      PLAIN.replace('- name: apple', '- name: apple\n  tags: [x]'),
      'images[0].tags: unknown field',
    ],
    ['an unknown top-level field', `${PLAIN}renames: []\n`, 'renames: unknown field'],
    [
      'an unknown registry field',
      PLAIN.replace('  src: true', '  src: true\n  source: true'),
      'registries[0].source: unknown field',
    ],
    ['no source registry', PLAIN.replace('  src: true\n', ''), 'registries: has no source registry'],
    [
      'two source registries',
      PLAIN.replace('  service-account', '  src: true\n  service-account'),
      'registries[1].src: a second source registry',
    ],
    ['no registries', PLAIN.replace(/^registries:[\s\S]*?images:/, 'images:'), 'registries: is required'],
    ['no images', PLAIN.replace(/images:[\s\S]*$/, ''), 'images: is required'],
    [
      'an upper-case name',
      PLAIN.replace('name: apple', 'name: Apple'),
      'images[0].name: "Apple" is not a repository name',
    ],
    [
      'an image listed twice',
      PLAIN.replace('banana/split', 'apple'),
      'images[1].name: image "apple" is listed twice',
    ],
    ['a bad tag', PLAIN.replace('["v2"]', '["-v2"]'), 'is not a valid tag'],
    [
      'one tag on two digests',
      PLAIN.replace(`"${D2}": []`, `"${D2}": ["latest"]`),
      'tag "latest" is already given to',
    ],
    ['tags not a list', PLAIN.replace('["v2"]', '"v2"'), 'must be a list of tags'],
  ])('refuses %s', (_name, text, expected) => {
    const e = errorOf(text);
    expect(e.code).toBe('E_IMAGESET_INVALID');
    expect(e.message).toContain(expected);
    expect(e.message.startsWith('promoter.yaml: ')).toBe(true);
  });

  it('hostile bytes: every truncation and seeded byte flips give a parse or E_IMAGESET_INVALID', () => {
    const bytes = Buffer.from(PLAIN, 'utf8');
    const rand = mulberry32(41);
    const inputs: string[] = [];
    for (let n = 0; n < bytes.length; n++) inputs.push(bytes.subarray(0, n).toString('utf8'));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(bytes);
      for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b.toString('latin1'));
    }
    for (const text of inputs) {
      try {
        const set = parsePromoterManifest(text, 'promoter.yaml');
        for (const img of set.promotedImages) expect(img.source.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      } catch (err) {
        expect(isBaleError(err, 'E_IMAGESET_INVALID'), String(err)).toBe(true);
      }
    }
  });
});
