/** A registry's referrers answer is hostile input: parsed strictly, named by URL without credentials. */
import { describe, expect, it } from 'vitest';
import { parseReferrersIndex } from '../../src/registry/referrers.js';

const D = `sha256:${'e'.repeat(64)}`;
const URL_WITH_TOKEN = 'https://user:secret@reg.example.com/v2/a/referrers/sha256:x';
const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseReferrersIndex', () => {
  it('reads descriptors with artifactType and string annotations only', () => {
    const got = parseReferrersIndex(
      body({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: D,
            size: 512,
            artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
            annotations: { a: 'b', n: 1 },
          },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 0 },
        ],
      }),
      'referrers of a',
      URL_WITH_TOKEN,
    );
    expect(got).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D,
        size: 512,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        annotations: { a: 'b' },
      },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 0 },
    ]);
  });

  it('an index without manifests is an empty list; mediaType may be absent', () => {
    expect(parseReferrersIndex(body({ schemaVersion: 2 }), 'r', URL_WITH_TOKEN)).toEqual([]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not JSON', '{"schemaVersion": 2,', /not JSON/],
    ['a list', [], /not an OCI index/],
    ['schema 1', { schemaVersion: 1 }, /not an OCI index/],
    [
      'a Docker manifest list',
      { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' },
      /media type/,
    ],
    ['manifests not an array', { schemaVersion: 2, manifests: {} }, /manifests is not an array/],
    [
      'a manifest that is a string',
      { schemaVersion: 2, manifests: ['x'] },
      /manifests\[0\] is not an object/,
    ],
    [
      'a bad digest',
      { schemaVersion: 2, manifests: [{ mediaType: 'm', digest: 'sha256:x', size: 1 }] },
      /manifests\[0\] is not a descriptor/,
    ],
    [
      'a negative size',
      { schemaVersion: 2, manifests: [{ mediaType: 'm', digest: D, size: -1 }] },
      /not a descriptor/,
    ],
    [
      'a fractional size',
      { schemaVersion: 2, manifests: [{ mediaType: 'm', digest: D, size: 1.5 }] },
      /not a descriptor/,
    ],
    [
      'a size past 2^53',
      { schemaVersion: 2, manifests: [{ mediaType: 'm', digest: D, size: 2 ** 60 }] },
      /not a descriptor/,
    ],
  ];
  for (const [name, value, why] of bad) {
    it(`refuses ${name} with E_HTTP, the URL without its credentials`, () => {
      let err: { code?: string; message?: string; details?: { url?: string }; hint?: string } = {};
      try {
        parseReferrersIndex(body(value), 'referrers of a', URL_WITH_TOKEN);
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.code).toBe('E_HTTP');
      expect(err.message).toMatch(why);
      expect(err.message).toMatch(/^referrers of a: the registry sent an unreadable referrers list/);
      expect(err.details?.url).toBeDefined();
      expect(err.details?.url).not.toContain('secret');
      expect(err.hint).toBeTruthy();
    });
  }
});
