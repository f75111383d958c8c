import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError, type BaleError } from '../../src/errors.js';
import { fetchSignatures, MAX_SIGNATURE_BYTES, signatureUrl } from '../../src/signature/store.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';
import { CI, REDHAT, STORE, readSignature } from './realdata.js';

const MANY = `sha256:${'11'.repeat(32)}`; // signature-1..3, a gap at 4, then 5
const TEN = `sha256:${'22'.repeat(32)}`; // signature-1..10
const BIG = `sha256:${'33'.repeat(32)}`; // 1 ok, 2 too large, 3 ok, 4 too large (chunked)
const NONE = `sha256:${'44'.repeat(32)}`;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface StaticServer {
  url: string;
  log: string[];
  routes: Map<string, Handler>;
  stop(): Promise<void>;
}

/** A static file server for `root` on 127.0.0.1, with per-path overrides. */
async function startStatic(root: string, tls?: TestCa): Promise<StaticServer> {
  const log: string[] = [];
  const routes = new Map<string, Handler>();
  const handler: Handler = (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    log.push(`${req.method} ${path}`);
    const route = routes.get(path);
    if (route !== undefined) return route(req, res);
    const file = normalize(join(root, path));
    if (!file.startsWith(root)) return res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  };
  const server: Server = tls
    ? createHttpsServer({ cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) }, handler)
    : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/sigs`,
    log,
    routes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let root: string;
let storeDir: string;
let http: StaticServer;
const sig = (n: number): Buffer => Buffer.from(`signature number ${n}`);

beforeAll(async () => {
  root = await makeTempDir('bale-store-');
  storeDir = join(root, 'sigs');
  await cp(STORE, storeDir, { recursive: true });
  const put = async (digest: string, index: number, body: Buffer): Promise<void> => {
    const dir = join(storeDir, `sha256=${digest.slice(7)}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `signature-${index}`), body);
  };
  for (const n of [1, 2, 3, 5]) await put(MANY, n, sig(n));
  for (let n = 1; n <= 10; n++) await put(TEN, n, sig(n));
  await put(BIG, 1, sig(1));
  await put(BIG, 2, Buffer.alloc(MAX_SIGNATURE_BYTES + 1, 7));
  await put(BIG, 3, sig(3));
  await put(BIG, 4, Buffer.alloc(MAX_SIGNATURE_BYTES + 1, 8));
  await put(BIG, 5, Buffer.alloc(MAX_SIGNATURE_BYTES, 9)); // exactly the limit: fine
  http = await startStatic(root);
  // signature-4 of BIG: too large, sent chunked without a content-length
  http.routes.set(`/sigs/sha256=${BIG.slice(7)}/signature-4`, (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 60; i++) res.write(Buffer.alloc(1024, 1));
    res.end();
  });
});

afterAll(async () => {
  await http?.stop();
  await removeTempDir(root);
});

const fileStore = (): string => pathToFileURL(storeDir).toString();

describe('fetchSignatures', () => {
  for (const kind of ['http', 'file'] as const) {
    const store = (): string => (kind === 'http' ? http.url : fileStore());

    it(`${kind}: reads the genuine signatures byte for byte`, async () => {
      for (const digest of [REDHAT.digest, CI.digest]) {
        const got = await fetchSignatures(store(), digest);
        expect(got).toEqual([
          { index: 1, bytes: readSignature(digest), url: signatureUrl(store(), digest, 1) },
        ]);
      }
    });

    it(`${kind}: stops at the first missing signature`, async () => {
      const got = await fetchSignatures(store(), MANY);
      expect(got.map((s) => [s.index, s.bytes.toString()])).toEqual([
        [1, 'signature number 1'],
        [2, 'signature number 2'],
        [3, 'signature number 3'],
      ]);
    });

    it(`${kind}: never reads past signature-9`, async () => {
      const got = await fetchSignatures(store(), TEN);
      expect(got.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it(`${kind}: returns nothing for a digest with no signatures`, async () => {
      expect(await fetchSignatures(store(), NONE)).toEqual([]);
    });

    it(`${kind}: throws E_TOO_LARGE for an oversized signature without onSkip`, async () => {
      const err = await fetchSignatures(store(), BIG).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_TOO_LARGE')).toBe(true);
      expect((err as BaleError).message).toContain(`sha256=${BIG.slice(7)}/signature-2`);
      expect((err as BaleError).details).toMatchObject({ index: 2, limit: MAX_SIGNATURE_BYTES });
    });

    it(`${kind}: with onSkip, reports oversized signatures and keeps the others`, async () => {
      const skipped: { index: number; code: string }[] = [];
      const got = await fetchSignatures(store(), BIG, {
        onSkip: (s) => skipped.push({ index: s.index, code: s.error.code }),
      });
      expect(got.map((s) => [s.index, s.bytes.length])).toEqual([
        [1, sig(1).length],
        [3, sig(3).length],
        [5, MAX_SIGNATURE_BYTES],
      ]);
      expect(skipped).toEqual([
        { index: 2, code: 'E_TOO_LARGE' },
        { index: 4, code: 'E_TOO_LARGE' },
      ]);
    });
  }

  it('http: asks for exactly signature-1.. up to the first 404', async () => {
    http.log.length = 0;
    await fetchSignatures(http.url, MANY);
    expect(http.log).toEqual([1, 2, 3, 4].map((n) => `GET /sigs/sha256=${MANY.slice(7)}/signature-${n}`));
  });

  it('http: accepts a store URL with a trailing slash', async () => {
    expect(await fetchSignatures(`${http.url}/`, CI.digest)).toHaveLength(1);
  });

  it('http: fails with E_HTTP naming the URL and status for a 500', async () => {
    const path = `/sigs/sha256=${NONE.slice(7)}/signature-1`;
    http.routes.set(path, (_req, res) => res.writeHead(500).end('boom'));
    try {
      const err = await fetchSignatures(http.url, NONE).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_HTTP')).toBe(true);
      expect((err as BaleError).message).toBe(`signature store answered 500 for ${http.url}${path.slice(5)}`);
      expect((err as BaleError).details).toMatchObject({ status: 500, index: 1 });
    } finally {
      http.routes.delete(path);
    }
  });

  it('http: keeps credentials in the store URL out of messages and results', async () => {
    const withCreds = http.url.replace('http://', 'http://user:s3cret@');
    const got = await fetchSignatures(withCreds, CI.digest);
    expect(got[0]!.url).not.toContain('s3cret');
    const path = `/sigs/sha256=${NONE.slice(7)}/signature-1`;
    http.routes.set(path, (_req, res) => res.writeHead(403).end());
    try {
      const err = await fetchSignatures(withCreds, NONE).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_HTTP')).toBe(true);
      expect(JSON.stringify(err)).not.toContain('s3cret');
      expect((err as Error).message).not.toContain('s3cret');
    } finally {
      http.routes.delete(path);
    }
  });

  it('http: fails with E_NETWORK naming the URL when nothing listens', async () => {
    const dead = await startStatic(root);
    await dead.stop();
    const err = await fetchSignatures(dead.url, CI.digest).catch((e: unknown) => e);
    expect(isBaleError(err, 'E_NETWORK')).toBe(true);
    expect((err as Error).message).toContain(`${dead.url}/sha256=${CI.digest.slice(7)}/signature-1`);
  });

  it('rejects stores that are not http(s):// or file://, and bad digests', async () => {
    expect(
      isBaleError(await fetchSignatures('ftp://x/y', CI.digest).catch((e: unknown) => e), 'E_CONFIG'),
    ).toBe(true);
    expect(
      isBaleError(await fetchSignatures('not a url', CI.digest).catch((e: unknown) => e), 'E_CONFIG'),
    ).toBe(true);
    expect(
      isBaleError(await fetchSignatures(http.url, 'sha256:abc').catch((e: unknown) => e), 'E_REFERENCE'),
    ).toBe(true);
  });

  describe('https', () => {
    let ca: TestCa;
    let https: StaticServer;
    beforeAll(async () => {
      ca = await makeTestCa(root);
      https = await startStatic(root, ca);
    });
    afterAll(async () => {
      await https?.stop();
    });

    it('fails with E_TLS for an untrusted certificate', async () => {
      const err = await fetchSignatures(https.url, CI.digest).catch((e: unknown) => e);
      expect(isBaleError(err, 'E_TLS')).toBe(true);
      expect((err as Error).message).toContain(https.url);
    });

    it('trusts the certificate with caFile', async () => {
      const got = await fetchSignatures(https.url, CI.digest, { caFile: ca.caFile });
      expect(got[0]!.bytes).toEqual(readSignature(CI.digest));
    });

    it('skips verification with tlsVerify false', async () => {
      expect(await fetchSignatures(https.url, CI.digest, { tlsVerify: false })).toHaveLength(1);
    });

    it('fails with E_CONFIG for an unreadable caFile', async () => {
      const err = await fetchSignatures(https.url, CI.digest, { caFile: join(root, 'nope.pem') }).catch(
        (e: unknown) => e,
      );
      expect(isBaleError(err, 'E_CONFIG')).toBe(true);
    });
  });
});
