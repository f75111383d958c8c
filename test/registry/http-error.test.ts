/** Registry responses and transport failures as BaleErrors: codes, messages, hints, no credentials. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BaleError } from '../../src/errors.js';
import {
  discardBody,
  errorCodeOf,
  isTlsCertificateError,
  isTlsProtocolError,
  networkError,
  parseRegistryErrors,
  readLimitedBody,
  readSmallBody,
  redactUrl,
  responseError,
  transientNetworkReason,
} from '../../src/registry/http-error.js';

type Body = Parameters<typeof readSmallBody>[0];
const body = (chunks: Buffer[]): Body & Readable => Readable.from(chunks) as unknown as Body & Readable;
const errWith = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const ctx = {
  what: 'manifest (tag 4.16.0) in reg:5000/ocp/release',
  method: 'GET',
  url: 'https://alice:s3cret@reg:5000/v2/ocp/release/manifests/4.16.0?_state=tok',
  registry: 'reg:5000',
};

describe('redactUrl', () => {
  it('redacts user-info and query strings from URLs', () => {
    expect(redactUrl('https://user:pw@h/v2/x?_state=secret&X-Amz-Signature=s')).toBe('https://h/v2/x');
    expect(redactUrl(new URL('https://h/v2/x#frag'))).toBe('https://h/v2/x');
  });

  it('keeps the path of a request target relative to the registry (retry messages)', () => {
    expect(redactUrl('/v2/ocp/release/blobs/uploads/?mount=sha256:1&from=x')).toBe(
      '/v2/ocp/release/blobs/uploads/',
    );
    expect(redactUrl('/v2/a/manifests/latest')).toBe('/v2/a/manifests/latest');
  });

  it('says <invalid URL> rather than echoing something it cannot parse', () => {
    expect(redactUrl('not a url with user:pw@')).toBe('<invalid URL>');
  });
});

describe('parseRegistryErrors', () => {
  it('reads errors[].code/message', () => {
    const b = Buffer.from(
      JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
    );
    expect(parseRegistryErrors(b)).toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }]);
  });

  it('is [] for anything that is not a registry error body', () => {
    for (const s of ['', 'not json', 'null', '42', '"x"', '{}', '{"errors":"x"}', '<html>502</html>']) {
      expect(parseRegistryErrors(Buffer.from(s))).toEqual([]);
    }
  });

  it('caps hostile bodies: 5 entries, 300 characters each, placeholders for wrong types', () => {
    const long = 'x'.repeat(10_000);
    const errors = [
      { code: 42, message: { nested: true } },
      null,
      ...Array.from({ length: 50 }, () => ({ code: long, message: long })),
    ];
    const parsed = parseRegistryErrors(Buffer.from(JSON.stringify({ errors })));
    expect(parsed).toHaveLength(5);
    expect(parsed[0]).toEqual({ code: 'UNKNOWN', message: '' });
    expect(parsed[1]).toEqual({ code: 'UNKNOWN', message: '' });
    expect(parsed[2]?.code).toBe(`${'x'.repeat(300)}…`);
    expect(parsed[2]?.message.length).toBe(301);
  });
});

describe('responseError', () => {
  const registryBody = Buffer.from(
    JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }),
  );

  it.each([
    [
      401,
      'E_AUTH',
      'reg:5000 refused the credentials for manifest (tag 4.16.0) in reg:5000/ocp/release (HTTP 401)',
      /Log in/,
    ],
    [
      403,
      'E_DENIED',
      'reg:5000 denied access to manifest (tag 4.16.0) in reg:5000/ocp/release (HTTP 403)',
      /no permission/,
    ],
    [
      404,
      'E_NOT_FOUND',
      'manifest (tag 4.16.0) in reg:5000/ocp/release not found (HTTP 404)',
      /Check the repository name/,
    ],
    [
      413,
      'E_TOO_LARGE',
      'reg:5000 rejected manifest (tag 4.16.0) in reg:5000/ocp/release as too large (HTTP 413)',
      /limits request sizes/,
    ],
    [
      418,
      'E_HTTP',
      'GET manifest (tag 4.16.0) in reg:5000/ocp/release failed with HTTP 418',
      /registry error/,
    ],
    [
      500,
      'E_HTTP',
      'GET manifest (tag 4.16.0) in reg:5000/ocp/release failed with HTTP 500',
      /registry error/,
    ],
  ] as const)('HTTP %i → %s, naming what and where', (status, code, message, hint) => {
    const e = responseError(status, Buffer.alloc(0), ctx);
    expect(e).toBeInstanceOf(BaleError);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(e.hint).toMatch(hint);
    expect(e.details).toEqual({
      url: 'https://reg:5000/v2/ocp/release/manifests/4.16.0',
      status,
      method: 'GET',
    });
    expect(JSON.stringify(e)).not.toContain('s3cret');
  });

  it("appends the registry's own errors and keeps them in details", () => {
    const e = responseError(403, registryBody, ctx);
    expect(e.message).toMatch(/\(HTTP 403\): DENIED requested access to the resource is denied$/);
    expect(e.details.registryErrors).toEqual([
      { code: 'DENIED', message: 'requested access to the resource is denied' },
    ]);
  });

  it('uses the caller’s hint for 401 only', () => {
    expect(responseError(401, Buffer.alloc(0), ctx, 'use --registry-config').hint).toBe(
      'use --registry-config',
    );
    expect(responseError(403, Buffer.alloc(0), ctx, 'use --registry-config').hint).not.toBe(
      'use --registry-config',
    );
  });
});

describe('transport failures', () => {
  it('finds the code through BaleError wrappers and causes, at most 5 deep', () => {
    const inner = errWith('ECONNRESET');
    expect(errorCodeOf(new BaleError('E_NETWORK', 'x', { cause: inner }))).toBe('ECONNRESET');
    expect(errorCodeOf(new Error('x', { cause: new Error('y', { cause: inner }) }))).toBe('ECONNRESET');
    let deep: Error = inner;
    for (let i = 0; i < 6; i++) deep = new Error('wrap', { cause: deep });
    expect(errorCodeOf(deep)).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
    expect(errorCodeOf('ECONNRESET')).toBeUndefined();
  });

  it('tells certificate errors, protocol mismatches and transient failures apart', () => {
    expect(isTlsCertificateError(errWith('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(true);
    expect(isTlsCertificateError(errWith('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(true);
    expect(isTlsCertificateError(errWith('ECONNRESET'))).toBe(false);
    expect(isTlsProtocolError(errWith('ERR_SSL_WRONG_VERSION_NUMBER'))).toBe(true);
    expect(isTlsProtocolError(new Error('ssl3_get_record:wrong version number'))).toBe(true);
    expect(isTlsProtocolError(errWith('CERT_HAS_EXPIRED'))).toBe(false);
    expect(transientNetworkReason(errWith('UND_ERR_BODY_TIMEOUT'))).toBe('UND_ERR_BODY_TIMEOUT');
    expect(transientNetworkReason(errWith('ENOTFOUND'))).toBeUndefined();
    expect(transientNetworkReason(errWith('CERT_HAS_EXPIRED'))).toBeUndefined();
  });

  it('networkError: E_TLS for an untrusted certificate, with the --ca-file hint', () => {
    const cause = errWith('SELF_SIGNED_CERT_IN_CHAIN');
    const e = networkError(cause, ctx);
    expect(e.code).toBe('E_TLS');
    expect(e.message).toBe(
      'TLS certificate of reg:5000 not trusted (SELF_SIGNED_CERT_IN_CHAIN) while fetching manifest (tag 4.16.0) in reg:5000/ocp/release',
    );
    expect(e.hint).toMatch(/--ca-file/);
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({
      url: 'https://reg:5000/v2/ocp/release/manifests/4.16.0',
      method: 'GET',
      cause: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
  });

  it('networkError: E_NETWORK otherwise, with the code or the message', () => {
    const e = networkError(errWith('ECONNREFUSED'), ctx);
    expect(e.code).toBe('E_NETWORK');
    expect(e.message).toBe(
      'cannot reach reg:5000 for manifest (tag 4.16.0) in reg:5000/ocp/release: ECONNREFUSED',
    );
    expect(e.hint).toMatch(/host name, port, proxy/);
    const noCode = networkError(new Error('socket hang up'), ctx);
    expect(noCode.message).toMatch(/: socket hang up$/);
    expect(noCode.details).not.toHaveProperty('cause');
    expect(JSON.stringify(noCode.details)).not.toContain('s3cret');
  });
});

describe('bodies', () => {
  it('readSmallBody keeps at most 64 KiB, stops reading there and destroys the body', async () => {
    let produced = 0;
    const huge = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024, 0x61));
        if (produced > 100 * 1024 * 1024) this.push(null);
      },
    });
    const b = await readSmallBody(huge as unknown as Body);
    expect(b.length).toBe(64 * 1024);
    expect(produced).toBeLessThan(1024 * 1024);
    expect(huge.destroyed).toBe(true);
  });

  it('readSmallBody returns what it got when the body fails, and never throws', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(errWith('ECONNRESET'));
      },
    });
    expect((await readSmallBody(failing as unknown as Body)).toString()).toBe('partial');
  });

  it('readLimitedBody reads a body up to the limit, one byte at a time too', async () => {
    const data = Buffer.from('{"schemaVersion":2}');
    const whole = await readLimitedBody(body([data]), data.length, 'manifest', 'http://h/', 'hint');
    expect(whole.equals(data)).toBe(true);
    const bytes = [...data].map((c) => Buffer.from([c]));
    expect(
      (await readLimitedBody(body(bytes), data.length, 'manifest', 'http://h/', 'hint')).equals(data),
    ).toBe(true);
  });

  it('readLimitedBody: E_TOO_LARGE one byte over, naming what, the limit and the URL without secrets', async () => {
    const b = body([Buffer.alloc(10), Buffer.alloc(1)]);
    const err = await readLimitedBody(
      b,
      10,
      'signature list',
      'http://u:pw@h/sigs?token=t',
      'Ask the admin.',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'E_TOO_LARGE',
      message: 'signature list is larger than 10 bytes',
      hint: 'Ask the admin.',
      details: { url: 'http://h/sigs', maxBytes: 10 },
    });
    expect(b.destroyed).toBe(true);
  });

  it('discardBody destroys the body and swallows its late errors', async () => {
    const b = new Readable({ read() {} });
    discardBody(b as unknown as Body);
    expect(b.destroyed).toBe(true);
    b.emit('error', new Error('late')); // would be an unhandled error without the listener
  });
});
