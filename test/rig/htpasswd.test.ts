import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { htpasswdLines } from '../helpers/htpasswd.js';

describe('htpasswdLines (bcrypt entries the registry accepts, no Apache tool)', () => {
  it('writes one user:$2b$ line per user that checks against its own password only', async () => {
    const text = await htpasswdLines([
      { username: 'alice', password: 's3cret' },
      { username: 'bob', password: 'other' },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const [user, hash] = lines[0]!.split(/:(.*)/s) as [string, string];
    expect(user).toBe('alice');
    expect(hash).toMatch(/^\$2[aby]\$05\$/);
    expect(await bcrypt.compare('s3cret', hash)).toBe(true);
    expect(await bcrypt.compare('other', hash)).toBe(false);
  });

  it('refuses a user name that would break the file format', async () => {
    await expect(htpasswdLines([{ username: 'a:b', password: 'x' }])).rejects.toThrow(/cannot hold/);
  });
});
