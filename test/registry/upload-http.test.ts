/** The pieces both upload paths share: Locations, Range answers, returned digests. */
import { describe, expect, it } from 'vitest';
import { appendQuery, nextOffsetFromRange } from '../../src/registry/upload-http.js';

describe('upload URL helpers', () => {
  it('appends the digest without rebuilding the Location', () => {
    const d = 'sha256:abc';
    expect(appendQuery('http://h/v2/u/1', 'digest', d)).toBe('http://h/v2/u/1?digest=sha256%3Aabc');
    expect(appendQuery('http://h/v2/u/1?_state=a%2Bb%3D&x=', 'digest', d)).toBe(
      'http://h/v2/u/1?_state=a%2Bb%3D&x=&digest=sha256%3Aabc',
    );
    expect(appendQuery('http://h/u?', 'digest', d)).toBe('http://h/u?digest=sha256%3Aabc');
  });

  it('reads Range: 0-<end>', () => {
    expect(nextOffsetFromRange('0-99')).toBe(100);
    expect(nextOffsetFromRange('bytes=0-9')).toBe(10);
    expect(nextOffsetFromRange('0-0')).toBe(0);
    expect(nextOffsetFromRange('junk')).toBeUndefined();
    expect(nextOffsetFromRange(undefined)).toBeUndefined();
  });
});
