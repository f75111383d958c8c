/**
 * Catalog and tag listing: pagination through the real distribution registry (Link
 * headers, seen through a forwarding proxy), the `n`/`last` fallback and hostile pages
 * from a wire-protocol server.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { PREFIX, pushContent } from '../workflows/snapshot/registry-content.js';
import { startFakeRegistry, type FakeRegistry } from './fake-registry.js';

async function errorOf(p: Promise<unknown>): Promise<BaleError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BaleError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('against distribution', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;

  beforeAll(async () => {
    reg = await startRegistry({ auth: 'none' });
    await pushContent(reg);
    proxy = await startFaultProxy(reg.host);
    client = new RegistryClient({ retry: { attempts: 1 } });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await reg?.stop();
  });

  it('lists every repository across catalog pages (Link: rel="next")', async () => {
    const from = proxy.log.length;
    const repos = await client.listRepositories(proxy.host, { pageSize: 2 });
    expect([...repos].sort()).toEqual(
      [
        'elsewhere/app',
        `${PREFIX}/multi`,
        `${PREFIX}/openshift/release`,
        `${PREFIX}/tools`,
        `${PREFIX}/untagged`,
      ].sort(),
    );
    const pages = proxy.log.slice(from).filter((e) => e.path.startsWith('/v2/_catalog'));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[0]?.path).toBe('/v2/_catalog?n=2');
    expect(pages.slice(1).every((e) => e.path.includes('last='))).toBe(true);
  });

  it('lists every tag, also when the registry ignores n for tags (distribution 2.8 does)', async () => {
    const from = proxy.log.length;
    const tags = await client.listTags(
      { registry: proxy.host, repository: `${PREFIX}/openshift/release` },
      { pageSize: 1 },
    );
    expect([...tags].sort()).toEqual(['4.18.1-x86_64', '4.18.1-x86_64-cli', '4.18.2-x86_64']);
    const pages = proxy.log.slice(from).filter((e) => e.path.includes('/tags/list'));
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(pages.length).toBeLessThanOrEqual(3);
  });

  it('one page when everything fits', async () => {
    const from = proxy.log.length;
    const repos = await client.listRepositories(proxy.host);
    expect(repos).toHaveLength(5);
    expect(proxy.log.slice(from).filter((e) => e.path.startsWith('/v2/_catalog'))).toHaveLength(1);
  });
});

describe('against a wire-protocol server', () => {
  let fake: FakeRegistry;
  let client: RegistryClient;
  afterEach(async () => {
    await client?.close();
    await fake?.stop();
  });
  const start = async (): Promise<void> => {
    fake = await startFakeRegistry();
    client = new RegistryClient({ retry: { attempts: 1 }, timeoutMs: 2000 });
  };
  const json = (res: ServerResponse, body: unknown, headers: Record<string, string> = {}): true => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    return true;
  };

  it('asks again with last=<final name> when a full page comes without a Link', async () => {
    await start();
    const asked: string[] = [];
    fake.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      asked.push(req.url);
      const last = new URL(req.url, 'http://x').searchParams.get('last');
      return json(res, { repositories: last === null ? ['a/x', 'b'] : last === 'b' ? ['c'] : [] });
    });
    expect(await client.listRepositories(fake.host, { pageSize: 2 })).toEqual(['a/x', 'b', 'c']);
    expect(asked).toEqual(['/v2/_catalog?n=2', '/v2/_catalog?n=2&last=b']);
  });

  it('a registry that ignores last (same full page again) ends the listing, without duplicates', async () => {
    await start();
    let n = 0;
    fake.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      n++;
      return json(res, { repositories: ['a', 'b'] });
    });
    expect(await client.listRepositories(fake.host, { pageSize: 2 })).toEqual(['a', 'b']);
    expect(n).toBe(2);
  });

  it('pages that loop are an error, not a hang', async () => {
    await start();
    fake.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      return json(res, { repositories: ['a'] }, { link: '</v2/_catalog?n=1>; rel="next"' });
    });
    const err = await errorOf(client.listRepositories(fake.host, { pageSize: 1 }));
    expect(err.code).toBe('E_HTTP');
    expect(err.message).toMatch(/pages do not end/);
  });

  it('a page that is not JSON, or names that are not strings, is an error', async () => {
    await start();
    let n = 0;
    fake.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      if (n++ === 0) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
        return true;
      }
      return json(res, { repositories: ['ok', 42] });
    });
    const notJson = await errorOf(client.listRepositories(fake.host));
    expect(notJson.code).toBe('E_HTTP');
    expect(notJson.message).toMatch(/repository catalog of .*\(not JSON\)/);
    const notNames = await errorOf(client.listRepositories(fake.host));
    expect(notNames.message).toMatch(/"repositories" .* is not a list of names/);
  });

  it('a registry without a catalog answers 404: E_NOT_FOUND with the status', async () => {
    await start();
    fake.hooks.push((req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"NOT_FOUND","message":"no"}]}');
      return true;
    });
    const err = await errorOf(client.listRepositories(fake.host));
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.details.status).toBe(404);
  });
});
