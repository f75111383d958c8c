/**
 * Scheme selection: when bale may fall back from HTTPS to plain HTTP, and when not. And
 * cancellation: an aborted signal ends requests in flight and lets none start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Transport, type ProbeResult } from '../../src/registry/transport.js';
import { waitFor } from '../helpers/wait.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

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

describe('cancellation', () => {
  /** A proxy whose every request hangs (headers stalled), before any upstream is contacted. */
  const hanging = (): Promise<FaultProxy> =>
    startFaultProxy('127.0.0.1:9', { rules: [{ fault: { kind: 'stall', ms: 3_000 } }] });

  it('Transport.send: an abort ends the request in flight at once with its reason, and none starts after it', async () => {
    const proxy = await hanging();
    const ac = new AbortController();
    const t = new Transport({ tlsVerify: false, timeoutMs: 60_000, userAgent: 'test', signal: ac.signal });
    try {
      const inFlight = t.send('127.0.0.1', { method: 'GET', url: `${proxy.url}/v2/` });
      await waitFor(() => proxy.log.length === 1);
      const reason = new Error('interrupted');
      const started = Date.now();
      ac.abort(reason);
      await expect(inFlight).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(1_000);
      await waitFor(() => proxy.log[0]?.done === true); // the connection was closed, not left hanging
      await expect(t.send('127.0.0.1', { method: 'GET', url: `${proxy.url}/v2/` })).rejects.toBe(reason);
      await sleep(100);
      expect(proxy.log).toHaveLength(1);
    } finally {
      await t.destroy();
      await proxy.stop();
    }
  });

  it('Transport.destroy (an interrupt without a signal): no new connection afterwards', async () => {
    const proxy = await hanging();
    const t = new Transport({ tlsVerify: false, timeoutMs: 60_000, userAgent: 'test' });
    try {
      const inFlight = t.send('127.0.0.1', { method: 'GET', url: `${proxy.url}/v2/` });
      await waitFor(() => proxy.log.length === 1);
      await t.destroy();
      await expect(inFlight).rejects.toThrow();
      await expect(t.send('127.0.0.1', { method: 'GET', url: `${proxy.url}/v2/` })).rejects.toThrow(
        /closed after an interrupt/,
      );
      await sleep(100);
      expect(proxy.log).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });
});
