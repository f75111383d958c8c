/**
 * The oc commands bale prints: the flags that keep every manifest list and child, and
 * quoting checked by running the printed text through a real POSIX shell (with `printf`
 * in place of `oc`) in a directory full of files a stray glob would match.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEEP_MANIFEST_LIST_FLAG,
  MIRROR_DESTINATION_PLACEHOLDER,
  ocAdmUpgradeArgs,
  ocAdmUpgradeCommand,
  ocImageMirrorArgs,
  ocImageMirrorCommand,
  ocMirrorReleaseCommands,
} from '../../src/cluster/oc-commands.js';
import { BaleError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const DIGEST = `sha256:${'e'.repeat(64)}`;
const DEST = 'mirror.example.com:5000/ocp4/openshift/release';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bale-oc-cmd-');
  // Files a shell would glob `file://openshift/release:4.18.1*` or `*` against.
  await mkdir(join(dir, 'file:'), { recursive: true });
  for (const f of ['4.18.1-x86_64', 'a b', 'x']) await writeFile(join(dir, f), '');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** What a POSIX shell passes as argv when it runs `command` (with oc replaced by printf). */
async function argvThroughShell(command: string): Promise<string[]> {
  expect(command.startsWith('oc ')).toBe(true);
  const { stdout } = await run('/bin/sh', ['-c', `printf '%s\\0' ${command.slice(3)}`], { cwd: dir });
  return ['oc', ...stdout.split('\0').slice(0, -1)];
}

function refused(fn: () => unknown): BaleError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BaleError);
    expect((e as BaleError).hint).toBeTruthy();
    return e as BaleError;
  }
  throw new Error('expected a BaleError');
}

describe('ocImageMirrorArgs', () => {
  it('keeps every list and child with --keep-manifest-list=true, and passes no OS filter', () => {
    const args = ocImageMirrorArgs({
      fromDir: '/media/usb/bale-dir',
      repository: 'openshift/release',
      tagPattern: '4.18.1*',
      destination: DEST,
    });
    expect(args).toEqual([
      'oc',
      'image',
      'mirror',
      '--keep-manifest-list=true',
      '--from-dir=/media/usb/bale-dir',
      'file://openshift/release:4.18.1*',
      DEST,
    ]);
    expect(KEEP_MANIFEST_LIST_FLAG).toBe('--keep-manifest-list=true');
    // oc refuses --keep-manifest-list with a non-wildcard --filter-by-os; bale passes none.
    expect(args.some((a) => a.startsWith('--filter-by-os'))).toBe(false);
  });

  it('adds credentials and --insecure only when asked', () => {
    const args = ocImageMirrorArgs({
      fromDir: 'd',
      repository: 'openshift/release',
      tagPattern: 'sha256-*',
      destination: DEST,
      registryConfig: '/root/mirror auth.json',
      insecure: true,
    });
    expect(args).toContain('--registry-config=/root/mirror auth.json');
    expect(args).toContain('--insecure=true');
    expect(args.at(-2)).toBe('file://openshift/release:sha256-*');
  });

  it('prints a command whose words reach oc unchanged through a shell, glob and all', async () => {
    const opts = {
      fromDir: join(dir, "it's a dir with spaces"),
      repository: 'openshift/release',
      tagPattern: '4.18.1*',
      destination: DEST,
      registryConfig: join(dir, 'a b'),
    };
    const command = ocImageMirrorCommand(opts);
    expect(command).toContain("'file://openshift/release:4.18.1*'");
    expect(await argvThroughShell(command)).toEqual(ocImageMirrorArgs(opts));
  });

  it('prints the placeholder destination when the mirror is not known yet', () => {
    const cmd = ocImageMirrorCommand({
      fromDir: '/d',
      repository: 'openshift/release',
      tagPattern: '4.18.1*',
      destination: MIRROR_DESTINATION_PLACEHOLDER,
    });
    expect(cmd).toBe(
      "oc image mirror --keep-manifest-list=true --from-dir=/d 'file://openshift/release:4.18.1*' REGISTRY/REPOSITORY",
    );
  });

  it.each([
    ['an empty directory', { fromDir: '' }, 'E_USAGE'],
    ['a directory with a line break', { fromDir: 'a\nrm -rf /' }, 'E_USAGE'],
    ['a repository with upper case', { repository: 'OpenShift/release' }, 'E_USAGE'],
    ['a repository with ..', { repository: '../etc' }, 'E_USAGE'],
    ['a tag pattern with a space', { tagPattern: '4.18 *' }, 'E_USAGE'],
    ['a tag pattern with a shell character', { tagPattern: '4.18;ls' }, 'E_USAGE'],
    ['a destination with a tag', { destination: `${DEST}:4.18.1` }, 'E_REFERENCE'],
    ['a destination by digest', { destination: `${DEST}@${DIGEST}` }, 'E_REFERENCE'],
    ['a destination without a registry', { destination: 'openshift/release' }, 'E_REFERENCE'],
  ])('refuses %s', (_name, patch, code) => {
    const opts = {
      fromDir: '/d',
      repository: 'openshift/release',
      tagPattern: '4.18.1*',
      destination: DEST,
      ...patch,
    };
    expect(refused(() => ocImageMirrorArgs(opts)).code).toBe(code);
  });
});

describe('ocMirrorReleaseCommands', () => {
  it('mirrors the release tags, and the Sigstore .sig tags when asked, each keeping lists whole', async () => {
    const base = {
      fromDir: '/srv/bale',
      repository: 'openshift/release',
      destination: DEST,
      version: '4.21.0',
    };
    expect(ocMirrorReleaseCommands(base)).toEqual([
      `oc image mirror --keep-manifest-list=true --from-dir=/srv/bale 'file://openshift/release:4.21.0*' ${DEST}`,
    ]);
    const both = ocMirrorReleaseCommands({ ...base, signatures: true });
    expect(both).toHaveLength(2);
    expect(both[1]).toBe(
      `oc image mirror --keep-manifest-list=true --from-dir=/srv/bale 'file://openshift/release:sha256-*' ${DEST}`,
    );
    for (const c of both)
      expect((await argvThroughShell(c)).slice(3, 4)).toEqual(['--keep-manifest-list=true']);
  });
});

describe('ocAdmUpgradeArgs', () => {
  it('upgrades by digest with --allow-explicit-upgrade and never --force', async () => {
    const image = `${DEST}@${DIGEST}`;
    const args = ocAdmUpgradeArgs({ image });
    expect(args).toEqual(['oc', 'adm', 'upgrade', '--allow-explicit-upgrade', `--to-image=${image}`]);
    expect(args.join(' ')).not.toContain('--force');
    expect(await argvThroughShell(ocAdmUpgradeCommand({ image }))).toEqual(args);
  });

  it.each([
    ['a tag only', `${DEST}:4.21.0-x86_64`],
    ['a tag and a digest', `${DEST}:4.21.0@${DIGEST}`],
    ['a scheme', `docker://${DEST}@${DIGEST}`],
  ])('refuses %s', (_name, image) => {
    expect(refused(() => ocAdmUpgradeArgs({ image })).code).toBe('E_REFERENCE');
  });
});
