/** D for `bale plan --to`, live against a real registry: HEAD by digest, then each wanted tag. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { destinationSet } from '../../src/sets/destination-set.js';
import { ImageSet } from '../../src/sets/inventory.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { pushTinyImage } from '../helpers/skopeo.js';
import type { TinyImage } from '../helpers/tiny-image.js';

const ABSENT = `sha256:${'0'.repeat(64)}`;

let reg: TestRegistry;
let client: RegistryClient;
let app: TinyImage;
let other: TinyImage;

beforeAll(async () => {
  reg = await startRegistry({ auth: 'none' });
  client = new RegistryClient({ retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } });
  app = await pushTinyImage(reg, 'mirror/team/app:v1', 51);
  other = await pushTinyImage(reg, 'mirror/team/app:v2', 52); // v2 points at another image
  await pushTinyImage(reg, 'elsewhere/team/tool:v1', 53);
});
afterAll(async () => {
  await client?.close();
  await reg?.stop();
});

const target = () => ({ registry: reg.host, prefix: 'mirror' });

describe('destinationSet', () => {
  it('has an image when its digest is under <prefix>/<name>, with only the tags that point at it', async () => {
    const wanted = new ImageSet([
      { name: 'team/app', digest: app.manifest.digest, tags: ['v1', 'v2', 'v3'] },
      { name: 'team/app', digest: other.manifest.digest, tags: [] },
    ]);
    const have = await destinationSet(client, target(), wanted);
    expect(have.images()).toEqual(
      [
        { name: 'team/app', digest: app.manifest.digest, tags: ['v1'] },
        { name: 'team/app', digest: other.manifest.digest, tags: [] },
      ].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    );
  });

  it('not under the prefix, an absent digest, or no digest at all: not in D', async () => {
    const wanted = new ImageSet([
      { name: 'team/tool', digest: app.manifest.digest, tags: ['v1'] }, // only at elsewhere/
      { name: 'team/app', digest: ABSENT, tags: ['v1'] },
      { name: 'team/unknown', digest: '', tags: ['v1'] },
    ]);
    const before = client.stats.requests;
    const have = await destinationSet(client, target(), wanted);
    expect(have.size).toBe(0);
    // no HEAD by tag for an image whose digest is absent, none at all without a digest
    expect(client.stats.requests - before).toBe(2);
  });

  it('a target without prefix looks at <name> from the root', async () => {
    const wanted = new ImageSet([{ name: 'mirror/team/app', digest: app.manifest.digest, tags: ['v1'] }]);
    const have = await destinationSet(client, { registry: reg.host, prefix: '' }, wanted);
    expect(have.images()).toEqual([{ name: 'mirror/team/app', digest: app.manifest.digest, tags: ['v1'] }]);
  });

  it('an aborted signal stops before asking', async () => {
    const aborted = new AbortController();
    aborted.abort();
    const wanted = new ImageSet([{ name: 'team/app', digest: app.manifest.digest, tags: ['v1'] }]);
    await expect(destinationSet(client, target(), wanted, aborted.signal)).rejects.toThrow();
  });

  it('an unreachable destination is an error, not an empty D', async () => {
    const wanted = new ImageSet([{ name: 'team/app', digest: app.manifest.digest, tags: [] }]);
    const closed = { registry: '127.0.0.1:1', prefix: 'mirror' };
    await expect(destinationSet(client, closed, wanted)).rejects.toMatchObject({
      code: 'E_RETRIES_EXHAUSTED',
    });
  });
});
