/** Scheme selection: when bale may fall back from HTTPS to plain HTTP, and when not. */
import { describe, expect, it } from 'vitest';
import { Transport, type ProbeResult } from '../../src/registry/transport.js';

const errWith = (code: string, message = code): Error => Object.assign(new Error(message), { code });

function transport(tlsVerify: boolean): Transport {
  return new Transport({ tlsVerify, timeoutMs: 1000, userAgent: 'test' });
}

function prober(answers: Record<string, (once: boolean) => ProbeResult | Error>) {
  const calls: string[] = [];
  const probe = async (baseUrl: string, opts: { once: boolean }): Promise<ProbeResult> => {
    calls.push(`${baseUrl}${opts.once ? ' once' : ''}`);
    const scheme = baseUrl.slice(0, baseUrl.indexOf(':'));
    const a = answers[scheme]?.(opts.once) ?? errWith('ECONNREFUSED');
    if (a instanceof Error) throw a;
    return a;
  };
  return { calls, probe };
}

const ok = (baseUrl: string, status = 200): ProbeResult => ({ baseUrl, status, wwwAuthenticate: undefined });

describe('Transport.resolve', () => {
  it('never tries plain HTTP for a remote registry with TLS verification on', async () => {
    const { calls, probe } = prober({
      https: () => errWith('EPROTO', 'wrong version number'),
      http: () => ok('http://r'),
    });
    await expect(transport(true).resolve('registry.example.com:5000', probe)).rejects.toMatchObject({
      code: 'EPROTO',
    });
    expect(calls).toEqual(['https://registry.example.com:5000']);
  });

  it('falls back to HTTP on loopback when the server does not speak TLS, and caches the answer', async () => {
    const t = transport(true);
    const { calls, probe } = prober({
      https: () => errWith('ECONNRESET'),
      http: () => ok('http://127.0.0.1:5000'),
    });
    expect((await t.resolve('127.0.0.1:5000', probe)).baseUrl).toBe('http://127.0.0.1:5000');
    expect((await t.resolve('127.0.0.1:5000', probe)).baseUrl).toBe('http://127.0.0.1:5000');
    expect(calls).toEqual(['https://127.0.0.1:5000 once', 'http://127.0.0.1:5000']);
  });

  it('falls back for any host when tlsVerify is false', async () => {
    const { calls, probe } = prober({
      https: () => errWith('EPROTO'),
      http: () => ok('http://r.example.com'),
    });
    expect((await transport(false).resolve('r.example.com', probe)).baseUrl).toBe('http://r.example.com');
    expect(calls).toEqual(['https://r.example.com once', 'http://r.example.com']);
  });

  it('does not fall back on a certificate error', async () => {
    const { calls, probe } = prober({
      https: () => errWith('DEPTH_ZERO_SELF_SIGNED_CERT'),
      http: () => ok('http://x'),
    });
    await expect(transport(true).resolve('localhost:5000', probe)).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(calls.every((c) => c.startsWith('https://'))).toBe(true);
  });

  it('goes back to HTTPS when the plain-HTTP answer is 400 (a TLS port), and does not cache failures', async () => {
    let first = true;
    const { calls, probe } = prober({
      https: (once) => {
        if (once && first) {
          first = false;
          return errWith('ECONNRESET');
        }
        return ok('https://127.0.0.1:5000', 401);
      },
      http: () => ok('http://127.0.0.1:5000', 400),
    });
    const t = transport(true);
    expect((await t.resolve('127.0.0.1:5000', probe)).baseUrl).toBe('https://127.0.0.1:5000');
    expect(calls).toEqual(['https://127.0.0.1:5000 once', 'http://127.0.0.1:5000', 'https://127.0.0.1:5000']);

    const failing = prober({});
    await expect(t.resolve('127.0.0.2:1', failing.probe)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(t.resolve('127.0.0.2:1', failing.probe)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(failing.calls.length).toBe(4);
  });

  it('sends docker.io to registry-1.docker.io', async () => {
    const { calls, probe } = prober({ https: () => ok('https://registry-1.docker.io') });
    await transport(true).resolve('docker.io', probe);
    expect(calls).toEqual(['https://registry-1.docker.io']);
  });
});

describe('Transport.destroy', () => {
  it('opens no new connection afterwards: a later send is refused with E_INTERRUPTED, nothing sent', async () => {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const host = `127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    try {
      const t = transport(true);
      const res = await t.send(host, { method: 'GET', url: `http://${host}/v2/` });
      await res.body.dump();
      expect(requests).toBe(1);
      await t.destroy();
      await expect(t.send(host, { method: 'GET', url: `http://${host}/v2/` })).rejects.toMatchObject({
        code: 'E_INTERRUPTED',
      });
      expect(requests).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
