import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, makeTempDir, removeTempDir } from '../helpers/tmp.js';

describe('tmp helpers', () => {
  it('makes distinct temp dirs and removes them', async () => {
    const a = await makeTempDir('bale-rig-tmp');
    const b = await makeTempDir('bale-rig-tmp');
    expect(a).not.toBe(b);
    expect(existsSync(a)).toBe(true);
    await removeTempDir(a);
    expect(existsSync(a)).toBe(false);
    await removeTempDir(b);
  });

  it('finds a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
