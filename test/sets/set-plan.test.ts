/** present = M ∩ D, copy = (M ∩ S) \ D, missing = M \ (S ∪ D), and the blobs to carry. */
import { describe, expect, it } from 'vitest';
import { ImageSet, type SetImage } from '../../src/sets/inventory.js';
import { planBlobs, planSets } from '../../src/sets/set-plan.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const blob = (c: string, size: number) => ({ digest: d(c), size });

// M: five images. release@a (present, D lacks one tag), cli@b (copy), multi@c (copy,
// shares blob 1 with release), gone@e (missing), nosize@f (copy, size unknown).
const wanted: SetImage[] = [
  {
    name: 'openshift/release',
    digest: d('a'),
    tags: ['4.18.1-x86_64', 'extra'],
    bytes: 300,
    blobs: [blob('1', 100), blob('2', 150), blob('a', 50)],
  },
  {
    name: 'openshift/cli',
    digest: d('b'),
    tags: ['4.18.1-x86_64-cli'],
    bytes: 210,
    blobs: [blob('3', 200), blob('b', 10)],
  },
  {
    name: 'multi',
    digest: d('c'),
    tags: ['latest'],
    bytes: 1130,
    blobs: [blob('1', 100), blob('4', 1000), blob('c', 30)],
  },
  { name: 'gone', digest: d('e'), tags: ['v9'], bytes: 77, blobs: [blob('5', 70), blob('e', 7)] },
  { name: 'nosize', digest: d('f'), tags: [] },
];
const M = new ImageSet(wanted);
const S = new ImageSet([
  { name: 'openshift/release', digest: d('a'), tags: [] },
  { name: 'openshift/cli', digest: d('b'), tags: ['4.18.1-x86_64-cli'] },
  { name: 'multi', digest: d('c'), tags: ['latest'] },
  { name: 'nosize', digest: d('f'), tags: [] },
  { name: 'unrelated', digest: d('9'), tags: ['x'] },
]);
const D = new ImageSet([
  { name: 'openshift/release', digest: d('a'), tags: ['4.18.1-x86_64'] },
  // the same digest under another name does not make cli present (names are per image)
  { name: 'elsewhere/cli', digest: d('b'), tags: ['4.18.1-x86_64-cli'] },
  { name: 'unrelated', digest: d('8'), tags: [] },
]);

describe('planSets', () => {
  it('sorts each wanted image into exactly one of present, copy and missing, with bytes', () => {
    const plan = planSets(M, S, D);
    expect(plan.present).toEqual([
      {
        name: 'openshift/release',
        digest: d('a'),
        tags: ['4.18.1-x86_64', 'extra'],
        bytes: 300,
        tagsToAdd: ['extra'],
      },
    ]);
    expect(plan.copy).toEqual([
      { name: 'multi', digest: d('c'), tags: ['latest'], bytes: 1130 },
      { name: 'nosize', digest: d('f'), tags: [] },
      { name: 'openshift/cli', digest: d('b'), tags: ['4.18.1-x86_64-cli'], bytes: 210 },
    ]);
    expect(plan.missing).toEqual([{ name: 'gone', digest: d('e'), tags: ['v9'], bytes: 77 }]);
    expect(plan.totals).toEqual({
      present: { images: 1, bytes: 300, unknownSize: 0 },
      copy: { images: 3, bytes: 1340, unknownSize: 1 },
      missing: { images: 1, bytes: 77, unknownSize: 0 },
    });
  });

  it('present wins over copy when both sides have it; an empty D copies all S has', () => {
    const both = planSets(M, S, new ImageSet());
    expect(both.present).toEqual([]);
    expect(both.copy.map((c) => c.name)).toEqual(['multi', 'nosize', 'openshift/cli', 'openshift/release']);
    expect(both.missing.map((c) => c.name)).toEqual(['gone']);
    const all = planSets(M, new ImageSet(), M);
    expect(all.present).toHaveLength(5);
    expect(all.present.every((p) => p.tagsToAdd === undefined)).toBe(true);
    expect(all.copy).toEqual([]);
    expect(all.missing).toEqual([]);
  });

  it('an empty M plans nothing', () => {
    const plan = planSets(new ImageSet(), S, D);
    expect([plan.present, plan.copy, plan.missing]).toEqual([[], [], []]);
  });
});

describe('planBlobs', () => {
  it('carries each blob of the copy once, minus what present images and known digests hold', () => {
    const plan = planSets(M, S, D);
    const blobs = planBlobs(plan, M, [d('3')]);
    // copy needs 1 (shared with present release: skip), 3 (known: skip), 4, b, c.
    expect(blobs.carry).toEqual([blob('4', 1000), blob('b', 10), blob('c', 30)]);
    expect(blobs.skip).toEqual([blob('1', 100), blob('3', 200)]);
    expect(blobs.carryBytes).toBe(1040);
    expect(blobs.skipBytes).toBe(300);
    expect(blobs.unknownImages).toEqual([{ name: 'nosize', digest: d('f') }]);
  });

  it('with nothing at the far side every needed blob is carried, shared ones once', () => {
    const plan = planSets(M, S, new ImageSet());
    const blobs = planBlobs(plan, M);
    expect(blobs.carry.map((b) => b.digest)).toEqual([
      d('1'),
      d('2'),
      d('3'),
      d('4'),
      d('a'),
      d('b'),
      d('c'),
    ]);
    expect(blobs.carryBytes).toBe(100 + 150 + 200 + 1000 + 50 + 10 + 30);
    expect(blobs.skip).toEqual([]);
  });
});
