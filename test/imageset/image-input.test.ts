/** What pack, plan and mirror carry: `--config` merged with the flags (src/imageset/image-input.ts). */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkArchitecture, readPackInput, type PackInput } from '../../src/imageset/image-input.js';
import type { Progress } from '../../src/progress.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { D1, put } from './thin-tree.js';

const RELEASE = `quay.io/openshift-release-dev/ocp-release@${D1}`;

function recorder(): Progress & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, phase() {}, advance() {}, info() {}, warn: (m) => void warnings.push(m) };
}

const isc = (platform: string, extra = ''): string =>
  `kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n${platform}${extra}`;

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('bale-image-input-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('readPackInput', () => {
  it('flags alone: the release, amd64 by default, each --image with its tag as repository and tags', async () => {
    const input = await readPackInput(
      { release: RELEASE, images: ['registry.example/team/tool:v1', `registry.example/team/other@${D1}`] },
      recorder(),
    );
    expect(input.releases).toEqual([RELEASE]);
    expect(input.channels).toEqual([]);
    expect(input).toMatchObject({ architectures: ['amd64'], architecturesGiven: false, archFromFlag: false });
    expect(input.set).toBeUndefined();
    expect(input.images.map((i) => [i.name, i.repository, i.tags])).toEqual([
      ['registry.example/team/tool:v1', 'team/tool', ['v1']],
      [`registry.example/team/other@${D1}`, 'team/other', []],
    ]);
  });

  it('the set’s release and --release are both carried, each once', async () => {
    const config = await put(dir, 'isc.yaml', isc(`    release: ${RELEASE}\n`));
    const same = await readPackInput({ config, release: RELEASE }, recorder());
    expect(same.releases).toEqual([RELEASE]);
    const other = `quay.io/openshift-release-dev/ocp-release@sha256:${'c3'.repeat(32)}`;
    const both = await readPackInput({ config, release: other }, recorder());
    expect(both.releases).toEqual([other, RELEASE]);
    expect(both.set?.source).toBe(config);
  });

  it('--arch wins over the set’s architectures; duplicates collapse; the set’s are used without --arch', async () => {
    const config = await put(
      dir,
      'isc.yaml',
      isc(`    release: ${RELEASE}\n    architectures: [arm64, s390x]\n`),
    );
    const fromSet = await readPackInput({ config }, recorder());
    expect(fromSet).toMatchObject({
      architectures: ['arm64', 's390x'],
      architecturesGiven: true,
      archFromFlag: false,
    });
    const fromFlag = await readPackInput({ config, architectures: ['amd64', 'amd64'] }, recorder());
    expect(fromFlag).toMatchObject({
      architectures: ['amd64'],
      architecturesGiven: true,
      archFromFlag: true,
    });
  });

  it('an unknown architecture is an error before any connection', async () => {
    await expect(
      readPackInput({ release: RELEASE, architectures: ['riscv64'] }, recorder()),
    ).rejects.toMatchObject({
      code: 'E_RELEASE_INVALID',
      message: 'unsupported release architecture "riscv64"',
    });
  });

  it('no release and no channel: E_CONFIG saying where none was found; plan and mirror may go without', async () => {
    await expect(readPackInput({}, recorder())).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: 'no release to pack: give --release or --config',
      hint: expect.stringContaining('--release'),
    });
    const config = await put(
      dir,
      'isc.yaml',
      'kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  additionalImages:\n    - name: registry.example/a/b:v1\n',
    );
    await expect(readPackInput({ config }, recorder())).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: `${config} names no release and no channel, and --release is not given`,
      details: { file: config },
    });
    const planOnly = await readPackInput({ config }, recorder(), { releaseRequired: false });
    expect(planOnly.releases).toEqual([]);
    expect(planOnly.images.map((i) => i.name)).toEqual(['registry.example/a/b:v1']);
  });

  it('a channel is enough; graph without a channel is only a warning', async () => {
    const withChannel = await put(dir, 'c.yaml', isc('    channels:\n      - name: stable-4.18\n'));
    const input = await readPackInput({ config: withChannel }, recorder());
    expect(input.channels.map((c) => c.name)).toEqual(['stable-4.18']);
    const graphOnly = await put(dir, 'g.yaml', isc(`    release: ${RELEASE}\n    graph: true\n`));
    const progress = recorder();
    await readPackInput({ config: graphOnly }, progress);
    expect(progress.warnings).toEqual([
      `${graphOnly}: mirror.platform.graph: no channel is resolved, so there is no update graph to carry`,
    ]);
  });

  it('blocked images are left out with a warning naming the rule, whether from --image or the set', async () => {
    const config = await put(
      dir,
      'isc.yaml',
      isc(
        `    release: ${RELEASE}\n`,
        '  additionalImages:\n    - name: registry.example/keep/me:v1\n    - name: registry.example/blocked/one:v1\n  blockedImages:\n    - name: ^registry\\.example/blocked/\n',
      ),
    );
    const progress = recorder();
    const input = await readPackInput({ config, images: ['registry.example/blocked/two:v2'] }, progress);
    expect(input.images.map((i) => i.name)).toEqual(['registry.example/keep/me:v1']);
    expect(progress.warnings).toEqual([
      'registry.example/blocked/two:v2 is not carried: blockedImages "^registry\\\\.example/blocked/" matches it',
      'registry.example/blocked/one:v1 is not carried: blockedImages "^registry\\\\.example/blocked/" matches it',
    ]);
  });

  it('promoted images keep their name as repository and the dmap tags', async () => {
    const config = await put(
      dir,
      'promoter.yaml',
      `registries:\n- name: gcr.io/staging\n  src: true\nimages:\n- name: team/app\n  dmap:\n    "${D1}": ["v1", "latest"]\n`,
    );
    const input = await readPackInput({ config, release: RELEASE }, recorder());
    expect(input.images.map((i) => [i.name, i.repository, i.tags, i.reference.registry])).toEqual([
      ['team/app', 'team/app', ['v1', 'latest'], 'gcr.io'],
    ]);
  });

  it('a bad --image reference is E_REFERENCE', async () => {
    await expect(
      readPackInput({ release: RELEASE, images: ['Not A Reference'] }, recorder()),
    ).rejects.toMatchObject({
      code: 'E_REFERENCE',
    });
  });

  it('a missing --config is E_IO naming it', async () => {
    await expect(readPackInput({ config: join(dir, 'nope.yaml') }, recorder())).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining('nope.yaml'),
    });
  });
});

describe('checkArchitecture', () => {
  const base: PackInput = {
    releases: [],
    channels: [],
    architectures: ['amd64'],
    architecturesGiven: false,
    archFromFlag: false,
    images: [],
  };

  it('anything goes when no architecture was asked for', () => {
    expect(() => checkArchitecture(base, 'arm64', 'release 4.18.1')).not.toThrow();
  });

  it('compares in oc naming: amd64 asks for x86_64, arm64 for aarch64', () => {
    const given = {
      ...base,
      architecturesGiven: true,
      archFromFlag: true,
      architectures: ['amd64', 'arm64'],
    };
    expect(() => checkArchitecture(given, 'x86_64', 'r')).not.toThrow();
    expect(() => checkArchitecture(given, 'aarch64', 'r')).not.toThrow();
    expect(() => checkArchitecture(given, 's390x', 'release 4.18.1')).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        message: '--arch asks for amd64, arm64, but release 4.18.1 is s390x',
      }),
    );
  });

  it('names the image set’s field and file when the set asked', async () => {
    const config = await put(dir, 'isc.yaml', isc(`    release: ${RELEASE}\n    architectures: [arm64]\n`));
    const input = await readPackInput({ config }, recorder());
    expect(() => checkArchitecture(input, 'x86_64', 'release 4.18.1')).toThrow(
      expect.objectContaining({
        message: `${config}: mirror.platform.architectures asks for arm64, but release 4.18.1 is x86_64`,
        details: { file: config, field: 'mirror.platform.architectures' },
      }),
    );
  });

  it('names --arch when the flag overrode the set', async () => {
    const config = await put(dir, 'isc.yaml', isc(`    release: ${RELEASE}\n    architectures: [arm64]\n`));
    const input = await readPackInput({ config, architectures: ['s390x'] }, recorder());
    expect(() => checkArchitecture(input, 'x86_64', 'release 4.18.1')).toThrow(
      expect.objectContaining({ message: '--arch asks for s390x, but release 4.18.1 is x86_64' }),
    );
  });
});
