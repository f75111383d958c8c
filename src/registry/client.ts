/**
 * The Docker Registry HTTP API V2 client (docs/architecture.md, src/registry/).
 * Public methods each take one of the registry's concurrency slots; blob streams take
 * theirs from the first read until they end.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { assertDigest, isDigest, sha256Digest } from '../digest.js';
import { BaleError } from '../errors.js';
import { BALE_VERSION } from '../version.js';
import { pullScope, pushScope } from './auth-challenge.js';
import { Authenticator } from './bearer-auth.js';
import { listCatalog, listRepositoryTags, type ListOptions } from './catalog.js';
import { downloadBlobToFile, openBlobStream } from './blob-download.js';
import type { CredentialSource } from './credentials.js';
import { discardBody, networkError, readSmallBody, redactUrl } from './http-error.js';
import { ACCEPT_MANIFESTS, isSchema1MediaType, normalizeMediaType, parseManifest } from './manifest.js';
import { checkManifestReference, checkRepo, isLoopbackRegistry } from './reference.js';
import { fetchReferrers, type ReferrerDescriptor } from './referrers.js';
import { header, RegistryHttp, type RegistryStats } from './registry-http.js';

export { nextLink } from './registry-http.js';
import { DEFAULT_RETRY, RETRYABLE_STATUSES, markTransient, parseRetryAfter } from './retry.js';
import { Transport } from './transport.js';
import { blobExistsIn, DEFAULT_UPLOAD, pushBlobTo, type UploadSettings } from './upload.js';
import { UploadSessions } from './upload-session.js';

export interface Repo {
  registry: string;
  repository: string;
}

export interface RegistryClientOptions {
  credentials?: CredentialSource;
  /** Default true. false: accept any certificate and allow plain HTTP. */
  tlsVerify?: boolean;
  /** PEM file with extra CA certificates. */
  caFile?: string;
  /** Per registry host, default 8. */
  concurrency?: number;
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Headers timeout and body idle timeout, default 60 s. */
  timeoutMs?: number;
  /** Default 4 MiB. */
  maxManifestBytes?: number;
  userAgent?: string;
  onRetry?: (e: { url: string; attempt: number; reason: string; delayMs: number }) => void;
  /**
   * Chunked uploads: the first chunk (default 8 MiB), the largest chunk it doubles up to
   * (default 64 MiB; when only chunkSize is given, every chunk is that size), and the size
   * above which blobs go up in chunks (default: none, one streamed PUT).
   */
  upload?: { chunkSize?: number; maxChunkSize?: number; monolithicMaxBytes?: number };
  /**
   * Cancels the client's work: requests in flight end at once, none starts after the
   * abort and no retry waits; each rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;

export class RegistryClient {
  private readonly http: RegistryHttp;
  private readonly maxManifestBytes: number;
  private readonly upload: UploadSettings;
  /** Staged, resumable blob uploads completed or cancelled later (upload-session.ts). */
  readonly sessions: UploadSessions;

  constructor(options: RegistryClientOptions = {}) {
    const tlsVerify = options.tlsVerify ?? true;
    let caPem: string | undefined;
    if (options.caFile !== undefined) {
      try {
        caPem = readFileSync(options.caFile, 'utf8');
      } catch (err) {
        throw new BaleError('E_CONFIG', `cannot read CA file ${options.caFile}`, {
          hint: 'Check the path given to --ca-file.',
          cause: err,
          details: { file: options.caFile },
        });
      }
    }
    const transport = new Transport({
      tlsVerify,
      ...(caPem !== undefined ? { caPem } : {}),
      timeoutMs: options.timeoutMs ?? 60_000,
      userAgent: options.userAgent ?? `bale/${BALE_VERSION}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const policy = {
      attempts: Math.max(1, options.retry?.attempts ?? DEFAULT_RETRY.attempts),
      baseDelayMs: options.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
      ...(options.onRetry !== undefined ? { onRetry: options.onRetry } : {}),
      ...(transport.signal ? { signal: transport.signal } : {}),
    };
    const auth = new Authenticator({
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      allowPlainHttpRealm: (realm) => !tlsVerify || isLoopbackRegistry(realm.host),
      fetchToken: async (req) => {
        const h = this.http; // set below, before any request can run
        const realmHost = new URL(req.url).host;
        return h.retry(req.url, `token for ${realmHost}`, async () => {
          h.stats.requests++;
          let res;
          try {
            res = await transport.send(realmHost, {
              method: req.method,
              url: req.url,
              headers: req.headers,
              body: req.body === undefined ? null : Buffer.from(req.body),
            });
          } catch (err) {
            throw networkError(err, {
              method: req.method,
              url: req.url,
              registry: realmHost,
              what: 'a token',
            });
          }
          if (RETRYABLE_STATUSES.has(res.statusCode)) {
            discardBody(res.body);
            throw markTransient(
              new BaleError('E_HTTP', `token service ${redactUrl(req.url)} answered HTTP ${res.statusCode}`, {
                details: { url: redactUrl(req.url), status: res.statusCode },
              }),
              `HTTP ${res.statusCode}`,
              parseRetryAfter(res.headers['retry-after']),
            );
          }
          return { status: res.statusCode, body: await readSmallBody(res.body) };
        });
      },
    });
    this.http = new RegistryHttp(transport, auth, policy, Math.max(1, options.concurrency ?? 8));
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    const chunkSize = Math.max(1, options.upload?.chunkSize ?? DEFAULT_UPLOAD.chunkSize);
    this.upload = {
      chunkSize,
      // A chunk size set by the caller is kept for every chunk unless growth is asked for too.
      maxChunkSize:
        options.upload?.maxChunkSize ??
        (options.upload?.chunkSize === undefined ? (DEFAULT_UPLOAD.maxChunkSize ?? chunkSize) : chunkSize),
      monolithicMaxBytes: options.upload?.monolithicMaxBytes ?? DEFAULT_UPLOAD.monolithicMaxBytes,
    };
    this.sessions = new UploadSessions(this.http, this.upload);
  }

  get stats(): Readonly<RegistryStats> {
    return this.http.stats;
  }

  /** Fetches a manifest by tag or digest; checks the digest (by digest: against it; by tag: against Docker-Content-Digest). */
  getManifest(repo: Repo, reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    checkRepo(repo);
    checkManifestReference(reference);
    return this.http.limited(repo.registry, () => this.fetchManifest(repo, reference));
  }

  private async fetchManifest(
    repo: Repo,
    reference: string,
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const what = manifestWhat(repo, reference);
    const target = `/v2/${repo.repository}/manifests/${reference}`;
    const spec = { registry: repo.registry, method: 'GET' as const, what };
    return this.http.retry(target, what, async () => {
      const ex = await this.http.exchange({
        ...spec,
        target,
        headers: { accept: ACCEPT_MANIFESTS },
        scopes: [pullScope(repo.repository)],
        followRedirects: true,
      });
      await this.http.expect(ex, [200], spec);
      const length = Number(header(ex.res, 'content-length') ?? NaN);
      if (Number.isFinite(length) && length > this.maxManifestBytes) {
        discardBody(ex.res.body);
        throw tooLarge(what, this.maxManifestBytes, ex.url);
      }
      const chunks: Buffer[] = [];
      let n = 0;
      try {
        for await (const chunk of ex.res.body) {
          const b = chunk as Buffer;
          n += b.length;
          if (n > this.maxManifestBytes) throw tooLarge(what, this.maxManifestBytes, ex.url);
          chunks.push(b);
        }
      } finally {
        ex.res.body.destroy();
      }
      this.http.stats.bytesDownloaded += n;
      const bytes = Buffer.concat(chunks);
      const contentType = normalizeMediaType(header(ex.res, 'content-type'));
      if (contentType !== undefined && isSchema1MediaType(contentType)) {
        throw new BaleError(
          'E_MANIFEST_INVALID',
          `${what} is a Docker schema 1 manifest, which bale does not support`,
          {
            hint: 'Re-push the image with a current client (it writes schema 2 or OCI).',
            details: { url: redactUrl(ex.url), mediaType: contentType },
          },
        );
      }
      const parsed = parseManifest(bytes, contentType);
      const digest = sha256Digest(bytes);
      const expected = isDigest(reference) ? reference : header(ex.res, 'docker-content-digest');
      if (expected !== undefined && isDigest(expected) && expected !== digest) {
        throw new BaleError('E_DIGEST_MISMATCH', `${what}: content is ${digest}, expected ${expected}`, {
          hint: 'The registry served a manifest that does not match its digest; try again or ask its administrator.',
          details: { url: redactUrl(ex.url), expectedDigest: expected, actualDigest: digest },
        });
      }
      return { bytes, mediaType: parsed.mediaType, digest };
    });
  }

  /** HEAD a manifest: undefined when absent. Falls back to GET when the registry sends no digest. */
  headManifest(
    repo: Repo,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    checkRepo(repo);
    checkManifestReference(reference);
    return this.http.limited(repo.registry, async () => {
      const what = manifestWhat(repo, reference);
      const target = `/v2/${repo.repository}/manifests/${reference}`;
      const spec = { registry: repo.registry, method: 'HEAD' as const, what };
      const head = await this.http.retry(target, what, async () => {
        const ex = await this.http.exchange({
          ...spec,
          target,
          headers: { accept: ACCEPT_MANIFESTS },
          scopes: [pullScope(repo.repository)],
          followRedirects: true,
        });
        if (ex.res.statusCode === 404) {
          discardBody(ex.res.body);
          return null;
        }
        await this.http.expect(ex, [200], spec);
        discardBody(ex.res.body);
        return {
          digest: header(ex.res, 'docker-content-digest'),
          mediaType: normalizeMediaType(header(ex.res, 'content-type')),
          size: Number(header(ex.res, 'content-length') ?? NaN),
        };
      });
      if (head === null) return undefined;
      const { digest, mediaType, size } = head;
      if (
        digest !== undefined &&
        isDigest(digest) &&
        (!isDigest(reference) || digest === reference) &&
        mediaType !== undefined &&
        Number.isSafeInteger(size)
      ) {
        return { digest, mediaType, size };
      }
      const m = await this.fetchManifest(repo, reference);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    });
  }

  blobExists(repo: Repo, digest: string): Promise<boolean> {
    checkRepo(repo);
    assertDigest(digest, 'blob digest');
    return this.http.limited(repo.registry, () => blobExistsIn(this.http, repo, digest));
  }

  /** A verified stream of a blob (size and digest checked when offset is 0); resumes internally with Range. */
  openBlob(repo: Repo, desc: { digest: string; size?: number }, opts?: { offset?: number }): Readable {
    checkRepo(repo);
    assertDigest(desc.digest, 'blob digest');
    return openBlobStream(this.http, repo, desc, opts?.offset ?? 0);
  }

  /** Downloads through `<destPath>.partial`, continuing one left by an earlier run; renames once verified. */
  downloadBlob(
    repo: Repo,
    desc: { digest: string; size: number },
    destPath: string,
    opts?: { onBytes?: (n: number) => void },
  ): Promise<{ resumedFrom: number }> {
    checkRepo(repo);
    assertDigest(desc.digest, 'blob digest');
    return downloadBlobToFile(this.http, repo, desc, destPath, opts?.onBytes);
  }

  /** Pushes a blob unless present: mount from `mountFrom` repositories, else upload. `open` is called per attempt. */
  pushBlob(
    repo: Repo,
    desc: { digest: string; size: number },
    open: () => Readable,
    opts?: { mountFrom?: string[] },
  ): Promise<'present' | 'mounted' | 'uploaded'> {
    checkRepo(repo);
    assertDigest(desc.digest, 'blob digest');
    return this.http.limited(repo.registry, () =>
      pushBlobTo(this.http, repo, desc, open, opts?.mountFrom ?? [], this.upload),
    );
  }

  /** PUTs the manifest's original bytes with its media type; returns its digest (checked against the registry's). */
  putManifest(repo: Repo, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepo(repo);
    checkManifestReference(reference);
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && reference !== digest) {
      return Promise.reject(
        new BaleError('E_DIGEST_MISMATCH', `manifest to push as ${reference} has digest ${digest}`, {
          hint: 'The manifest bytes were changed; push the original bytes.',
          details: { expectedDigest: reference, actualDigest: digest },
        }),
      );
    }
    return this.http.limited(repo.registry, async () => {
      const what = `manifest ${reference} to ${repo.registry}/${repo.repository}`;
      const target = `/v2/${repo.repository}/manifests/${reference}`;
      const spec = { registry: repo.registry, method: 'PUT' as const, what };
      return this.http.retry(target, what, async () => {
        const ex = await this.http.exchange({
          ...spec,
          target,
          headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
          body: bytes,
          scopes: [pushScope(repo.repository)],
        });
        await this.http.expect(ex, [201, 200, 202], spec);
        discardBody(ex.res.body);
        const returned = header(ex.res, 'docker-content-digest');
        if (returned !== undefined && returned !== digest) {
          throw new BaleError(
            'E_DIGEST_MISMATCH',
            `${what}: the registry stored it as ${returned}, expected ${digest}`,
            {
              hint: 'The registry rewrote the manifest; it must store the bytes unchanged.',
              details: { url: redactUrl(ex.url), expectedDigest: digest, actualDigest: returned },
            },
          );
        }
        this.http.stats.bytesUploaded += bytes.length;
        return digest;
      });
    });
  }

  /** OCI referrers of a manifest, filtered by artifactType; undefined when the registry has no referrers API (404). */
  referrers(
    repo: Repo,
    digest: string,
    opts?: { artifactType?: string },
  ): Promise<ReferrerDescriptor[] | undefined> {
    checkRepo(repo);
    assertDigest(digest, 'subject digest');
    return this.http.limited(repo.registry, () =>
      fetchReferrers(this.http, repo, digest, opts?.artifactType, this.maxManifestBytes),
    );
  }

  /** All tags, following `Link: <…>; rel="next"` pages (or `last=` when the registry sends no Link). */
  listTags(repo: Repo, opts?: ListOptions): Promise<string[]> {
    checkRepo(repo);
    return this.http.limited(repo.registry, () => listRepositoryTags(this.http, repo, opts));
  }

  /** Every repository in the registry's catalog (`/v2/_catalog`, paginated); needs catalog access. */
  listRepositories(registry: string, opts?: ListOptions): Promise<string[]> {
    return this.http.limited(registry, () => listCatalog(this.http, registry, opts));
  }

  /** Waits for requests in flight, then closes the connections. */
  async close(): Promise<void> {
    await this.http.transport.close();
  }

  /** Aborts requests in flight and closes the connections at once (after an interrupt). */
  async destroy(): Promise<void> {
    await this.http.transport.destroy();
  }
}

function manifestWhat(repo: Repo, reference: string): string {
  return isDigest(reference)
    ? `manifest ${reference} in ${repo.registry}/${repo.repository}`
    : `manifest (tag ${reference}) in ${repo.registry}/${repo.repository}`;
}

function tooLarge(what: string, max: number, url: string): BaleError {
  return new BaleError('E_TOO_LARGE', `${what} is larger than ${max} bytes`, {
    hint: 'Manifests are small; this is not a manifest or the registry misbehaves.',
    details: { url: redactUrl(url), maxBytes: max },
  });
}
