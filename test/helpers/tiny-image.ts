/**
 * A tiny container image built by hand, deterministically from a seed: gzip'd tar
 * layers holding one file each, an image config and a manifest (OCI or Docker v2s2).
 * Written out as an OCI layout (`oci:` transport) or skopeo's `dir:` format, it is a
 * source for `skopeo copy` into a test registry.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { seededBytes } from './prng.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export interface TinyBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface TinyImage {
  seed: number;
  format: 'oci' | 'docker';
  manifest: TinyBlob;
  config: TinyBlob;
  layers: (TinyBlob & { diffId: string })[];
  /** config + layers by digest (not the manifest). */
  blobs: Map<string, Buffer>;
}

export interface TinyImageOptions {
  format?: 'oci' | 'docker';
  /** Number of layers (default 1). */
  layers?: number;
  /** Bytes of (incompressible) file content per layer (default 64). */
  layerBytes?: number;
  architecture?: string;
  labels?: Record<string, string>;
  /** Extra files to put in the first layer (e.g. release-manifests/image-references). */
  files?: Record<string, Buffer | string>;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** Minimal deterministic ustar archive: regular files, mode 0644, mtime 0, uid/gid 0. */
export function makeTar(files: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of files) {
    if (Buffer.byteLength(name) > 100) throw new Error(`makeTar: name too long: ${name}`);
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write(octal(0o644, 8), 100, 'ascii');
    header.write(octal(0, 8), 108, 'ascii');
    header.write(octal(0, 8), 116, 'ascii');
    header.write(octal(content.length, 12), 124, 'ascii');
    header.write(octal(0, 12), 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    parts.push(header, content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function blob(mediaType: string, bytes: Buffer): TinyBlob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

export function makeTinyImage(seed: number, opts: TinyImageOptions = {}): TinyImage {
  const format = opts.format ?? 'oci';
  const layerCount = opts.layers ?? 1;
  const layerBytes = opts.layerBytes ?? 64;
  const layerType = format === 'oci' ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP;
  const layers: (TinyBlob & { diffId: string })[] = [];
  for (let i = 0; i < layerCount; i++) {
    const files: [string, Buffer][] = [
      [`tiny/seed-${seed}-layer-${i}.bin`, seededBytes(seed * 1000 + i, layerBytes)],
    ];
    if (i === 0 && opts.files !== undefined) {
      for (const [name, content] of Object.entries(opts.files)) {
        files.push([name, Buffer.isBuffer(content) ? content : Buffer.from(content)]);
      }
    }
    const tar = makeTar(files);
    // zlib's gzip header has mtime 0 and a fixed OS byte: deterministic for a given zlib.
    const gz = gzipSync(tar, { level: 6 });
    layers.push({ ...blob(layerType, gz), diffId: sha256(tar) });
  }
  const configJson = {
    architecture: opts.architecture ?? 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Labels: { 'io.bale.test.seed': String(seed), ...opts.labels } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '1970-01-01T00:00:00Z', created_by: `tiny layer ${i}` })),
  };
  const config = blob(format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG, Buffer.from(JSON.stringify(configJson)));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blob(manifestJson.mediaType, Buffer.from(JSON.stringify(manifestJson)));
  const blobs = new Map<string, Buffer>();
  blobs.set(config.digest, config.bytes);
  for (const l of layers) blobs.set(l.digest, l.bytes);
  return { seed, format, manifest, config, layers, blobs };
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** Writes an OCI image layout; returns the skopeo reference `oci:<dir>:<tag>`. */
export async function writeOciLayout(image: TinyImage, dir: string, tag = 'latest'): Promise<string> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const [digest, bytes] of image.blobs) await writeFile(join(blobDir, hex(digest)), bytes);
  await writeFile(join(blobDir, hex(image.manifest.digest)), image.manifest.bytes);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return `oci:${dir}:${tag}`;
}

/** Writes skopeo's `dir:` format; returns the skopeo reference `dir:<dir>`. */
export async function writeDirImage(image: TinyImage, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  await writeFile(join(dir, 'manifest.json'), image.manifest.bytes);
  for (const [digest, bytes] of image.blobs) await writeFile(join(dir, hex(digest)), bytes);
  return `dir:${dir}`;
}
