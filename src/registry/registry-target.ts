/**
 * `<registry>[/<prefix>]`: a registry host (with port) and an optional repository path
 * prefix under it, as `unpack --to`, `snapshot` and `plan --to` take them.
 */
import { BaleError } from '../errors.js';
import { isRepositoryPath } from './reference.js';

export interface RegistryTarget {
  registry: string;
  /** Repository path prefix without slashes at either end; '' for the whole registry. */
  prefix: string;
}

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;

/** Parses `host[:port][/prefix]` (an optional `docker://` in front); E_USAGE naming `option`. */
export function parseRegistryTarget(value: string, option: string): RegistryTarget {
  const t = value.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  const slash = t.indexOf('/');
  const registry = slash < 0 ? t : t.slice(0, slash);
  const prefix = slash < 0 ? '' : t.slice(slash + 1);
  if (!HOST.test(registry) || (prefix !== '' && !isRepositoryPath(prefix))) {
    throw new BaleError('E_USAGE', `${option} ${JSON.stringify(value)} is not <registry>[/<prefix>]`, {
      hint: 'For example mirror.example.com:5000 or mirror.example.com:5000/ocp4 (no tag, no digest).',
    });
  }
  return { registry, prefix };
}

/** The full repository path of `name` under the target's prefix. */
export function underPrefix(target: RegistryTarget, name: string): string {
  return target.prefix === '' ? name : `${target.prefix}/${name}`;
}

/** `name` relative to the prefix, or undefined when it lies outside it. */
export function relativeToPrefix(target: RegistryTarget, repository: string): string | undefined {
  if (target.prefix === '') return repository;
  return repository.startsWith(`${target.prefix}/`) ? repository.slice(target.prefix.length + 1) : undefined;
}

/** `registry/prefix`, or `registry` alone. */
export function formatRegistryTarget(target: RegistryTarget): string {
  return target.prefix === '' ? target.registry : `${target.registry}/${target.prefix}`;
}
