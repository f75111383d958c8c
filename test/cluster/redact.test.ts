import { describe, expect, it } from 'vitest';
import { REDACTED, redact, secretsOfUser } from '../../src/cluster/redact.js';

describe('redact', () => {
  it('finds tokens, passwords, inline keys and exec env values, not file paths or names', () => {
    const secrets = secretsOfUser({
      name: 'admin',
      token: 'tok-123456',
      password: 'pw-abcdef',
      keyData: 'KEYDATA-xyz',
      keyFile: '/home/u/key.pem',
      authProvider: { name: 'oidc', config: { 'id-token': 'idtok-999', 'client-id': 'bale' } },
      exec: { command: 'get-token', env: [{ name: 'API_KEY', value: 'envsecret-1' }] },
    });
    expect(secrets.sort()).toEqual(
      ['KEYDATA-xyz', 'envsecret-1', 'idtok-999', 'pw-abcdef', 'tok-123456'].sort(),
    );
  });

  it('replaces every occurrence and scrubs Authorization header values', () => {
    const msg = redact(
      'token tok-123456 and again tok-123456; header Bearer abc.def-ghi, Basic dXNlcjpwYXNz',
      ['tok-123456'],
    );
    expect(msg).not.toContain('tok-123456');
    expect(msg).not.toContain('abc.def-ghi');
    expect(msg).not.toContain('dXNlcjpwYXNz');
    expect(msg.split(REDACTED).length - 1).toBe(4);
  });
});
