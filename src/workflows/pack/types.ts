import type { Progress } from '../../progress.js';
import type { RegistriesConfLocations } from '../../registry/registries-conf.js';

export interface PackOptions {
  /** Release pullspec; optional when `config` names the release. */
  release?: string;
  /** Image set file or thin-manifest directory (`--config`): see input.ts. */
  config?: string;
  to: string;
  /** `--have`: a `bale snapshot` file of the far-side mirror; its blobs are left out. */
  have?: string;
  /** `--since`: a previous bundle directory (or its bundle.json); its blobs are left out. */
  since?: string;
  /** Update service graph endpoint (`--graph-url`); default: UPDATE_URL_OVERRIDE, else the public service. */
  graphUrl?: string;
  /** A saved update graph (`--graph-file`), instead of asking the service. */
  graphFile?: string;
  /** Conditional update edges may be part of an update path (their risks are printed). */
  allowConditionalEdges?: boolean;
  /** Architectures (`--arch`, Go names: amd64, arm64, ppc64le, s390x, multi); override the image set's. */
  architectures?: string[];
  graphData?: string;
  images?: string[];
  noImages?: boolean;
  /** http(s):// or file:// stores; default: the two official stores. */
  signatureStores?: string[];
  /** Keyring files; default: Red Hat release key 2, shipped with bale. */
  keyrings?: string[];
  /** PEM public keys for Sigstore signatures (`--sigstore-key`); default: the shipped Red Hat key. */
  sigstoreKeys?: string[];
  /** false (`--no-sigstore`): do not look for Sigstore signature artifacts. */
  sigstore?: boolean;
  registryConfig?: string;
  /** ImageDigestMirrorSet files (`--idms-file`): where content by digest also lives. */
  idmsFiles?: string[];
  /** ImageContentSourcePolicy files (`--icsp-file`). */
  icspFiles?: string[];
  /** containers registries.conf mirror tables: `path` alone (`--registries-conf`) or the usual locations. */
  registriesConf?: RegistriesConfLocations;
  srcTlsVerify?: boolean;
  caFile?: string;
  volumeSize?: number;
  /** Armored OpenPGP private key: sign bundle.json into bundle.json.asc. */
  signKey?: string;
  concurrency?: number;
  /** zstd level of the volumes (default DEFAULT_COMPRESSION_LEVEL). */
  compressionLevel?: number;
  /** Bytes of blobs downloaded ahead of the volume writer, held in memory (default 16 MiB). */
  stagingWindow?: number;
  /** Read every volume back and verify it once written (catches bad media). */
  verifyAfterWrite?: boolean;
  env: Record<string, string | undefined>;
  homeDir: string;
  /** Who holds the lock (the CLI passes its pid and a liveness check). */
  lockOwner: { pid: number; hostname: string; isAlive(pid: number): boolean };
  progress?: Progress;
  signal?: AbortSignal;
  now?: () => Date;
  /** Free bytes at the target (default: statfs); tests pass a small number to exercise the check. */
  freeSpace?: (dir: string) => Promise<number | undefined>;
}

export interface PackedRelease {
  version: string;
  architecture: string;
  digest: string;
  source: string;
}

export interface PackResult {
  bundleDir: string;
  /** The highest release carried (the only one, for a bundle of one release). */
  release: PackedRelease;
  /** Every release carried, in bundle order (update order for a channel). */
  releases: PackedRelease[];
  /** Update-graph documents carried (`graph/<channel>-<arch>.json`). */
  graphs: { path: string; channel: string; arch: string; source: string; releases: string[] }[];
  images: number;
  blobs: number;
  contentBytes: number;
  volumes: { name: string; size: number; sha256: string; entries: number }[];
  signatures: { keyId: string; userId?: string; identity: string; source: string }[];
  graphData?: { revision: string; digest: string };
  /** Sigstore signature artifacts carried, with the state pack found. */
  sigstore: { repository: string; tag: string; digest: string; state: string }[];
  signed: boolean;
  /** An incremental bundle's base: where it came from, how many blobs and bytes it left out. */
  base?: {
    kind: 'snapshot' | 'bundle';
    file: string;
    sha256: string;
    created?: string;
    digests: number;
    bytes: number;
  };
  /** Where the release signatures were looked for, and the payload's verifier keys against the keyring. */
  verifier: {
    stores: string[];
    storesFrom: 'signature-store' | 'payload' | 'official';
    keys?: { verdict: 'agree' | 'differ'; agree: string[]; payloadOnly: string[]; keyringOnly: string[] };
  };
  stats: {
    blobsDownloaded: number;
    blobsReused: number;
    bytesDownloaded: number;
    bytesResumed: number;
    volumesReused: number;
    requests: number;
    retries: number;
  };
  durationMs: number;
}

/** pack's working state inside the bundle directory (lock, journal, staged blobs). */
export const STATE_DIR = '.bale';

/**
 * zstd level 1. Nearly everything in a release is a gzip'd layer, which zstd cannot
 * shrink: on a 38 MiB gzip'd tar, level 1 gives 99.5 % at ~900 MiB/s, level 3 99.0 % at
 * ~180 MiB/s, level 6 99.2 % at ~300 MiB/s (one core). The 0.5 % is not worth a five
 * times slower writer; text (manifests, ConfigMaps, uncompressed layers) still gets ~28 %.
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;
