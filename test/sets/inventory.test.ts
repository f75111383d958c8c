/** The image promoter's set of images: name → digest → tags, with sizes when known. */
import { describe, expect, it } from 'vitest';
import { compareImages, compareStrings, imageKey, ImageSet } from '../../src/sets/inventory.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;

describe('ImageSet', () => {
  it('merges tags of the same name and digest, keeps sizes already known, sorts', () => {
    const s = new ImageSet([
      { name: 'b', digest: d('1'), tags: ['y'] },
      { name: 'a', digest: d('2'), tags: ['x'], bytes: 5 },
      { name: 'b', digest: d('1'), tags: ['x', 'y'], bytes: 9 },
      { name: 'a', digest: d('2'), tags: [], bytes: 7 },
    ]);
    expect(s.size).toBe(2);
    expect(s.images()).toEqual([
      { name: 'a', digest: d('2'), tags: ['x'], bytes: 5 },
      { name: 'b', digest: d('1'), tags: ['x', 'y'], bytes: 9 },
    ]);
    expect(s.has('a', d('2'))).toBe(true);
    expect(s.has('a', d('1'))).toBe(false);
    expect(s.digests()).toEqual(new Set([d('1'), d('2')]));
  });
});

describe('ImageSet, more', () => {
  it('get() returns a copy with sorted tags; a later blob list does not replace a known one', () => {
    const s = new ImageSet();
    s.add({ name: 'a', digest: d('1'), tags: ['z', 'b'], blobs: [{ digest: d('9'), size: 1 }] });
    s.add({ name: 'a', digest: d('1'), tags: ['a'], blobs: [], bytes: 3 });
    const got = s.get('a', d('1'));
    expect(got).toEqual({
      name: 'a',
      digest: d('1'),
      tags: ['a', 'b', 'z'],
      blobs: [{ digest: d('9'), size: 1 }],
      bytes: 3,
    });
    got?.tags.push('mutated');
    expect(s.get('a', d('1'))?.tags).toEqual(['a', 'b', 'z']);
    expect(s.get('a', d('2'))).toBeUndefined();
  });

  it('the caller’s objects are not shared with the set', () => {
    const image = { name: 'a', digest: d('1'), tags: ['x'] };
    const s = new ImageSet([image]);
    image.tags.push('later');
    expect(s.get('a', d('1'))?.tags).toEqual(['x']);
    // sizes learnt later are the set's, not written into the caller's object
    s.add({ name: 'a', digest: d('1'), tags: [], bytes: 42 });
    expect(s.get('a', d('1'))?.bytes).toBe(42);
    expect(image).not.toHaveProperty('bytes');
  });

  it('an empty set is empty', () => {
    const s = new ImageSet();
    expect(s.size).toBe(0);
    expect(s.images()).toEqual([]);
    expect(s.digests()).toEqual(new Set());
  });
});

describe('ordering', () => {
  it('by UTF-16 code units, not locale: upper case before lower, ä after z', () => {
    expect(['b', 'a', 'B', 'ä', 'z', 'A'].sort(compareStrings)).toEqual(['A', 'B', 'a', 'b', 'z', 'ä']);
    expect(compareStrings('x', 'x')).toBe(0);
  });

  it('images by name, then digest', () => {
    const list = [
      { name: 'b', digest: d('1') },
      { name: 'a', digest: d('2') },
      { name: 'a', digest: d('1') },
    ];
    expect(list.sort(compareImages).map((i) => imageKey(i.name, i.digest))).toEqual([
      `a@${d('1')}`,
      `a@${d('2')}`,
      `b@${d('1')}`,
    ]);
  });
});
