/** Clients for both sides of plan/mirror: one credential lookup, TLS verification per side, retries reported. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/progress.js';
import { closeClients, registryClients } from '../../src/registry/client-factory.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startRegistry, writeAuthFile, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

function recorder(): Progress & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, phase() {}, advance() {}, info() {}, warn: (m) => void warnings.push(m) };
}

describe('registryClients', () => {
  let reg: TestRegistry;
  let tls: TestRegistry;
  let tmp: string;
  beforeAll(async () => {
    [reg, tls] = await Promise.all([
      startRegistry({ auth: 'htpasswd' }),
      startRegistry({ auth: 'none', tls: true }),
    ]);
    tmp = await makeTempDir('bale-factory-');
  });
  afterAll(async () => {
    await reg?.stop();
    await tls?.stop();
    if (tmp !== undefined) await removeTempDir(tmp);
  });

  it('every client uses the credentials of --registry-config', async () => {
    const authFile = await writeAuthFile(reg, join(tmp, 'auth.json'));
    const make = await registryClients({ registryConfig: authFile, env: {}, homeDir: tmp }, recorder());
    const [a, b] = [make(undefined), make(true)];
    for (const c of [a, b]) {
      await expect(c.listTags({ registry: reg.host, repository: 'none/here' })).rejects.toMatchObject({
        code: 'E_NOT_FOUND', // authenticated: the registry says the repository is unknown, not 401
      });
    }
    await closeClients([a, b]);
    const anon = (await registryClients({ env: {}, homeDir: tmp }, recorder()))(true);
    await expect(anon.listTags({ registry: reg.host, repository: 'none/here' })).rejects.toMatchObject({
      code: 'E_AUTH',
    });
    await closeClients([anon]);
  });

  it('TLS verification is per side: on by default, off when asked; the CA file trusts a private CA', async () => {
    const make = await registryClients({ env: {}, homeDir: tmp, retry: { attempts: 1 } }, recorder());
    const verifying = make(undefined);
    await expect(verifying.listTags({ registry: tls.host, repository: 'a/b' })).rejects.toMatchObject({
      code: 'E_TLS',
    });
    const lax = make(false);
    await expect(lax.listTags({ registry: tls.host, repository: 'a/b' })).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    await closeClients([verifying, lax]);
    const withCa = (await registryClients({ env: {}, homeDir: tmp, caFile: tls.caFile! }, recorder()))(true);
    await expect(withCa.listTags({ registry: tls.host, repository: 'a/b' })).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    await closeClients([withCa]);
  });

  it('a retry is reported as a warning naming the URL, the delay, the reason and the attempt', async () => {
    let n = 0;
    const server = createServer((req, res) => {
      if (req.url === '/v2/') return void res.end();
      if (++n === 1) return void res.writeHead(503).end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'a/b', tags: ['t'] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const progress = recorder();
      const make = await registryClients(
        { env: {}, homeDir: tmp, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
        progress,
      );
      const c = make(true);
      expect(await c.listTags({ registry: host, repository: 'a/b' })).toEqual(['t']);
      expect(progress.warnings).toEqual([
        expect.stringMatching(
          new RegExp(`^retrying /v2/a/b/tags/list in \\d+ ms \\(HTTP 503, attempt 1\\)$`),
        ),
      ]);
      await closeClients([c]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a missing --registry-config is an error before any client exists', async () => {
    await expect(
      registryClients({ registryConfig: join(tmp, 'missing.json'), env: {}, homeDir: tmp }, recorder()),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^E_(CONFIG|IO)$/) });
  });
});

describe('closeClients', () => {
  it('closes each client, skipping holes; after an abort it destroys them instead', async () => {
    const calls: string[] = [];
    const spyOn = (name: string): RegistryClient => {
      const c = new RegistryClient();
      c.close = async () => void calls.push(`close ${name}`);
      c.destroy = async () => void calls.push(`destroy ${name}`);
      return c;
    };
    await closeClients([spyOn('a'), undefined, spyOn('b')]);
    const aborted = new AbortController();
    aborted.abort();
    await closeClients([spyOn('c')], aborted.signal);
    await closeClients([spyOn('d')], new AbortController().signal);
    expect(calls).toEqual(['close a', 'close b', 'destroy c', 'close d']);
  });
});
