import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { compress } from 'zstd-napi';
import { tarBuffer, type TarEntry } from '../../fixtures/tar.js';

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;

export function imageStream(
  overrides: Record<string, unknown> = {},
  tags?: unknown[],
): Record<string, unknown> {
  return {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: '4.18.7', creationTimestamp: null },
    spec: {
      lookupPolicy: { local: false },
      tags: tags ?? [
        {
          name: 'cluster-version-operator',
          from: { kind: 'DockerImage', name: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${DIGEST_A}` },
        },
        {
          name: 'etcd',
          from: { kind: 'DockerImage', name: `127.0.0.1:5000/ocp/release-art@${DIGEST_B}` },
        },
      ],
    },
    ...overrides,
  };
}

export function releaseMetadata(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'cincinnati-metadata-v0',
    version: '4.18.7',
    previous: ['4.18.5', '4.18.6'],
    next: [],
    metadata: { url: 'https://access.redhat.com/errata/RHSA-2025:0000' },
    ...overrides,
  };
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2));
}

/** A payload layer like a real release's: other manifests first, then the two files. */
export function payloadEntries(
  opts: { prefix?: string; omit?: 'image-references' | 'release-metadata' } = {},
): TarEntry[] {
  const p = opts.prefix ?? '';
  const entries: TarEntry[] = [
    { name: `${p}release-manifests/`, type: 'directory' },
    {
      name: `${p}release-manifests/0000_00_cluster-version-operator_00_namespace.yaml`,
      data: 'kind: Namespace\n',
    },
    { name: `${p}release-manifests/0000_50_other.yaml`, data: 'x'.repeat(100_000) },
  ];
  if (opts.omit !== 'image-references') {
    entries.push({ name: `${p}release-manifests/image-references`, data: json(imageStream()) });
  }
  if (opts.omit !== 'release-metadata') {
    entries.push({ name: `${p}release-manifests/release-metadata`, data: json(releaseMetadata()) });
  }
  entries.push({ name: `${p}usr/share/doc/trailer.txt`, data: 'after the payload\n' });
  return entries;
}

export async function payloadTar(opts: Parameters<typeof payloadEntries>[0] = {}): Promise<Buffer> {
  return tarBuffer(payloadEntries(opts));
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

export function zstd(data: Buffer): Buffer {
  return compress(data);
}

/** A stream of `data` in chunks of `size` bytes (1: one byte at a time). */
export function chunked(data: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}
