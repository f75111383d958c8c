import { describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { parseRelease } from '../../src/release/release-payload.js';
import { DIGEST_A, DIGEST_B, imageStream, json, releaseMetadata } from './payload-builders.js';

function fails(refs: unknown, meta: unknown = releaseMetadata(), architecture = 'x86_64'): BaleError {
  try {
    parseRelease(Buffer.isBuffer(refs) ? refs : json(refs), Buffer.isBuffer(meta) ? meta : json(meta), {
      architecture,
    });
  } catch (err) {
    expect(err).toBeInstanceOf(BaleError);
    expect((err as BaleError).code).toBe('E_RELEASE_INVALID');
    expect((err as BaleError).hint).toBeTruthy();
    return err as BaleError;
  }
  throw new Error('parseRelease accepted an invalid release');
}

function component(name: string, ref: string, kind = 'DockerImage'): Record<string, unknown> {
  return { name, from: { kind, name: ref } };
}

describe('parseRelease', () => {
  it('returns version, architecture, pinned components and metadata', () => {
    const info = parseRelease(json(imageStream()), json(releaseMetadata()), { architecture: 'x86_64' });
    expect(info.version).toBe('4.18.7');
    expect(info.architecture).toBe('x86_64');
    expect(info.components).toEqual([
      {
        name: 'cluster-version-operator',
        image: {
          registry: 'quay.io',
          repository: 'openshift-release-dev/ocp-v4.0-art-dev',
          digest: DIGEST_A,
        },
      },
      {
        name: 'etcd',
        image: { registry: '127.0.0.1:5000', repository: 'ocp/release-art', digest: DIGEST_B },
      },
    ]);
    expect(info.metadata.kind).toBe('cincinnati-metadata-v0');
    expect(info.metadata.previous).toEqual(['4.18.5', '4.18.6']);
  });

  it('takes the architecture from release-metadata when not told, else "unknown"', () => {
    const multi = releaseMetadata({ metadata: { 'release.openshift.io/architecture': 'multi' } });
    expect(parseRelease(json(imageStream()), json(multi)).architecture).toBe('multi');
    expect(parseRelease(json(imageStream()), json(releaseMetadata())).architecture).toBe('unknown');
  });

  it('accepts a component named by tag and digest', () => {
    const refs = imageStream({}, [component('cli', `quay.io/a/b:4.18@${DIGEST_A}`)]);
    const info = parseRelease(json(refs), json(releaseMetadata()), { architecture: 'x86_64' });
    expect(info.components[0]?.image).toEqual({
      registry: 'quay.io',
      repository: 'a/b',
      tag: '4.18',
      digest: DIGEST_A,
    });
  });

  it('rejects a wrong kind', () => {
    expect(fails(imageStream({ kind: 'ImageStreamList' })).message).toMatch(
      /kind is "ImageStreamList".*ImageStream/,
    );
  });

  it('rejects a wrong apiVersion', () => {
    expect(fails(imageStream({ apiVersion: 'v1' })).message).toMatch(
      /apiVersion is "v1".*image\.openshift\.io\/v1/,
    );
  });

  it('rejects a component that is not pinned by digest, naming it', () => {
    const err = fails(imageStream({}, [component('etcd', 'quay.io/ocp/etcd:latest')]));
    expect(err.message).toContain('"etcd"');
    expect(err.message).toContain('quay.io/ocp/etcd:latest');
    expect(err.message).toMatch(/not pinned/);
    expect(err.details['component']).toBe('etcd');
  });

  it.each([
    ['short', 'sha256:abc'],
    ['uppercase', `sha256:${'A'.repeat(64)}`],
    ['sha512', `sha512:${'a'.repeat(128)}`],
    ['empty', ''],
    ['trailing junk', `${DIGEST_A}x`],
  ])('rejects a bad digest (%s)', (_what, digest) => {
    const err = fails(imageStream({}, [component('etcd', `quay.io/ocp/etcd@${digest}`)]));
    expect(err.message).toContain('"etcd"');
  });

  it('rejects from.kind other than DockerImage', () => {
    const err = fails(imageStream({}, [component('etcd', `quay.io/ocp/etcd@${DIGEST_A}`, 'ImageStreamTag')]));
    expect(err.message).toMatch(/from\.kind is "ImageStreamTag"/);
  });

  it('rejects a component without a name or without from', () => {
    expect(
      fails(imageStream({}, [{ from: { kind: 'DockerImage', name: `q.io/a@${DIGEST_A}` } }])).message,
    ).toMatch(/spec\.tags\[0\] has no name/);
    expect(fails(imageStream({}, [{ name: 'etcd' }])).message).toMatch(/has no "from"/);
  });

  it('rejects duplicate component names', () => {
    const err = fails(
      imageStream({}, [component('etcd', `q.io/a@${DIGEST_A}`), component('etcd', `q.io/a@${DIGEST_B}`)]),
    );
    expect(err.message).toMatch(/spec\.tags\[1\] \("etcd"\) appears more than once/);
  });

  it.each([
    ['a slash', 'etcd/../x'],
    ['a colon', 'etcd:1'],
    ['a space', 'etc d'],
  ])('rejects a component name with %s', (_what, name) => {
    fails(imageStream({}, [component(name, `q.io/a@${DIGEST_A}`)]));
  });

  it('rejects a component name whose tag <version>-<arch>-<name> would exceed 128 characters', () => {
    const prefix = '4.18.7-x86_64-';
    const fits = 'n'.repeat(128 - prefix.length);
    parseRelease(json(imageStream({}, [component(fits, `q.io/a@${DIGEST_A}`)])), json(releaseMetadata()), {
      architecture: 'x86_64',
    });
    const err = fails(imageStream({}, [component(`${fits}n`, `q.io/a@${DIGEST_A}`)]));
    expect(err.message).toContain('4.18.7-x86_64-<name>');
  });

  it('rejects a missing spec.tags or metadata.name', () => {
    expect(fails(imageStream({ spec: {} })).message).toMatch(/spec\.tags is missing/);
    expect(fails(imageStream({ metadata: {} })).message).toMatch(/metadata\.name/);
  });

  it('rejects a version that cannot be part of a tag', () => {
    const err = fails(imageStream({ metadata: { name: '4.18/7' } }), releaseMetadata({ version: '4.18/7' }));
    expect(err.message).toMatch(/cannot be part of an image tag/);
  });

  it('rejects a wrong release-metadata kind', () => {
    const err = fails(imageStream(), releaseMetadata({ kind: 'cincinnati-metadata-v1' }));
    expect(err.message).toMatch(/release-metadata: kind is "cincinnati-metadata-v1"/);
  });

  it('rejects release-metadata without a version', () => {
    expect(fails(imageStream(), releaseMetadata({ version: undefined })).message).toMatch(
      /version is missing/,
    );
  });

  it('rejects a version mismatch, saying which version is where', () => {
    const err = fails(imageStream(), releaseMetadata({ version: '4.18.8' }));
    expect(err.message).toContain('"4.18.8"');
    expect(err.message).toContain('"4.18.7"');
    expect(err.message).toMatch(
      /release-metadata: version "4\.18\.8" differs from the version "4\.18\.7" in .*image-references/,
    );
  });

  it('rejects previous/next that are not lists of versions', () => {
    fails(imageStream(), releaseMetadata({ previous: '4.18.6' }));
    fails(imageStream(), releaseMetadata({ next: [1] }));
  });

  it('rejects files that are not JSON objects, naming the file', () => {
    expect(fails(Buffer.from('kind: ImageStream\n')).message).toMatch(/image-references: not valid JSON/);
    expect(fails(Buffer.from('[]')).message).toMatch(/image-references: not a JSON object/);
    expect(fails(imageStream(), Buffer.from('{')).message).toMatch(/release-metadata: not valid JSON/);
  });
});
