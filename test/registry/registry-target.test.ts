import { describe, expect, it } from 'vitest';
import {
  formatRegistryTarget,
  parseRegistryTarget,
  relativeToPrefix,
  underPrefix,
} from '../../src/registry/registry-target.js';

describe('parseRegistryTarget', () => {
  it('host, host:port, IPv6, a prefix, docker:// and trailing slashes', () => {
    expect(parseRegistryTarget('mirror.example.com', '--to')).toEqual({
      registry: 'mirror.example.com',
      prefix: '',
    });
    expect(parseRegistryTarget('127.0.0.1:5000/ocp4/', '--to')).toEqual({
      registry: '127.0.0.1:5000',
      prefix: 'ocp4',
    });
    expect(parseRegistryTarget('docker://[::1]:5000/a/b', '--to')).toEqual({
      registry: '[::1]:5000',
      prefix: 'a/b',
    });
    expect(parseRegistryTarget('localhost:5000', '--to')).toEqual({ registry: 'localhost:5000', prefix: '' });
  });

  for (const bad of [
    '',
    'https://mirror:5000',
    'mirror:5000/ocp4:tag',
    'mirror/UPPER',
    'mirror:port',
    'a b',
    'm/x@sha256:00',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with E_USAGE naming the option and an example`, () => {
      expect(() => parseRegistryTarget(bad, '--to')).toThrow(
        expect.objectContaining({
          code: 'E_USAGE',
          message: `--to ${JSON.stringify(bad)} is not <registry>[/<prefix>]`,
          hint: expect.stringContaining('mirror.example.com:5000/ocp4'),
        }),
      );
    });
  }
});

describe('prefix helpers', () => {
  const none = { registry: 'r:5000', prefix: '' };
  const ocp = { registry: 'r:5000', prefix: 'ocp4' };

  it('underPrefix and relativeToPrefix are inverses inside the prefix', () => {
    expect(underPrefix(none, 'openshift/release')).toBe('openshift/release');
    expect(underPrefix(ocp, 'openshift/release')).toBe('ocp4/openshift/release');
    expect(relativeToPrefix(ocp, underPrefix(ocp, 'openshift/release'))).toBe('openshift/release');
    expect(relativeToPrefix(none, 'x/y')).toBe('x/y');
  });

  it('a repository outside the prefix (or merely sharing its first letters) is undefined', () => {
    expect(relativeToPrefix(ocp, 'other/release')).toBeUndefined();
    expect(relativeToPrefix(ocp, 'ocp4x/release')).toBeUndefined();
    expect(relativeToPrefix(ocp, 'ocp4')).toBeUndefined();
  });

  it('formatRegistryTarget round-trips what parseRegistryTarget reads', () => {
    for (const t of ['r:5000', 'r:5000/ocp4/sub']) {
      expect(formatRegistryTarget(parseRegistryTarget(t, '--to'))).toBe(t);
    }
  });
});
