/** How objects are named in messages. */
import { describe, expect, it } from 'vitest';
import { describeObject } from '../../src/cluster/kube-object.js';

describe('describeObject', () => {
  it('kind, then namespace/name for namespaced objects and the name alone otherwise', () => {
    expect(
      describeObject({ kind: 'ConfigMap', namespace: 'openshift-config-managed', name: 'sha256-a' }),
    ).toBe('ConfigMap openshift-config-managed/sha256-a');
    expect(describeObject({ kind: 'ImageDigestMirrorSet', name: 'bale-mirror' })).toBe(
      'ImageDigestMirrorSet bale-mirror',
    );
    expect(describeObject({ kind: 'ImageDigestMirrorSet', namespace: undefined, name: 'x' })).toBe(
      'ImageDigestMirrorSet x',
    );
    expect(describeObject({ kind: 'ConfigMap', namespace: '', name: 'x' })).toBe('ConfigMap x');
  });
});
