import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBaleError } from '../../../src/errors.js';
import {
  DEFAULT_GRAPH_URL,
  fetchUpdateGraph,
  graphEndpoint,
  graphUrl,
  readUpdateGraphFile,
} from '../../../src/release/graph/fetch-graph.js';
import { resolveChannel } from '../../../src/release/graph/resolve-channel.js';
import { graphDocument, startGraphServer, type GraphServer } from '../../helpers/graph-server.js';
import { startSilentServer } from '../../helpers/silent-server.js';
import { freePort, makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { SAMPLE_GRAPH } from './sample-graph.js';

let server: GraphServer;
let dir: string;

beforeAll(async () => {
  server = await startGraphServer({ amd64: SAMPLE_GRAPH, arm64: { ...SAMPLE_GRAPH, edges: [] } });
  dir = await makeTempDir('bale-graph-');
});
afterAll(async () => {
  await server.stop();
  await removeTempDir(dir);
});

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('graph URL', () => {
  it('defaults to the public update service, with channel and arch parameters', () => {
    expect(graphEndpoint({ env: {} })).toBe(DEFAULT_GRAPH_URL);
    expect(graphUrl(graphEndpoint({}), 'stable-4.18', 'amd64').toString()).toBe(
      'https://api.openshift.com/api/upgrades_info/v1/graph?channel=stable-4.18&arch=amd64',
    );
  });

  it('UPDATE_URL_OVERRIDE replaces the endpoint, and --graph-url wins over it', () => {
    expect(graphEndpoint({ env: { UPDATE_URL_OVERRIDE: 'https://osus.example/graph' } })).toBe(
      'https://osus.example/graph',
    );
    expect(graphEndpoint({ env: { UPDATE_URL_OVERRIDE: '' } })).toBe(DEFAULT_GRAPH_URL);
    expect(
      graphEndpoint({ graphUrl: 'https://mine/graph', env: { UPDATE_URL_OVERRIDE: 'https://osus/graph' } }),
    ).toBe('https://mine/graph');
  });

  it('keeps other query parameters and replaces channel and arch', () => {
    expect(graphUrl('https://h/graph?id=1&channel=x', 'fast-4.18', 'multi').toString()).toBe(
      'https://h/graph?id=1&channel=fast-4.18&arch=multi',
    );
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => graphUrl('file:///etc/passwd', 'c', 'amd64')).toThrow(/is not http\(s\)/);
    expect(() => graphUrl('not a url', 'c', 'amd64')).toThrow(/is not a URL/);
  });
});

describe('fetchUpdateGraph (loopback update service)', () => {
  it('asks for the channel and arch with Accept: application/json, and keeps the exact bytes', async () => {
    const before = server.log.length;
    const got = await fetchUpdateGraph({ graphUrl: server.endpoint, channel: 'stable-4.18', arch: 'amd64' });
    const entry = server.log[before]!;
    expect(entry).toMatchObject({ channel: 'stable-4.18', arch: 'amd64', status: 200 });
    expect(entry.accept).toContain('application/json');
    expect(got.graph.nodes).toHaveLength(9);
    expect(got.bytes.toString()).toBe(JSON.stringify(graphDocument(SAMPLE_GRAPH, 'amd64', 'stable-4.18')));
    expect(got.source).toBe(`${server.endpoint}?channel=stable-4.18&arch=amd64`);
    const path = resolveChannel(got.graph, {
      channel: 'stable-4.18',
      minVersion: '4.16.3',
      maxVersion: '4.18.7',
      shortestPath: true,
      full: false,
    });
    expect(path.releases.map((n) => n.version)).toEqual(['4.16.3', '4.16.10', '4.17.12', '4.18.7']);
  });

  it('honours UPDATE_URL_OVERRIDE from the environment it is given', async () => {
    const before = server.log.length;
    const got = await fetchUpdateGraph({
      env: { UPDATE_URL_OVERRIDE: server.endpoint },
      channel: 'fast-4.18',
      arch: 'arm64',
    });
    expect(server.log[before]).toMatchObject({ channel: 'fast-4.18', arch: 'arm64' });
    expect(got.graph.edges).toEqual([]);
  });

  it('an HTTP error names the URL and the status', async () => {
    const e = await failure(
      fetchUpdateGraph({ graphUrl: server.endpoint, channel: 'stable-4.18', arch: 's390x' }),
    );
    expect(e.code).toBe('E_HTTP');
    expect(e.message).toContain(
      `update graph ${server.endpoint}?channel=stable-4.18&arch=s390x answered HTTP 400`,
    );
    expect(e.details['body']).toContain('unknown arch');
  });

  it('a body over the cap is E_TOO_LARGE', async () => {
    const e = await failure(
      fetchUpdateGraph({ graphUrl: server.endpoint, channel: 'stable-4.18', arch: 'amd64', maxBytes: 1000 }),
    );
    expect(e.code).toBe('E_TOO_LARGE');
    expect(e.message).toContain(server.endpoint);
  });

  it('something that is not a graph is E_GRAPH_INVALID naming the URL', async () => {
    server.setOverride({ status: 200, body: '<html>maintenance</html>' });
    try {
      const e = await failure(
        fetchUpdateGraph({ graphUrl: server.endpoint, channel: 'stable-4.18', arch: 'amd64' }),
      );
      expect(e.code).toBe('E_GRAPH_INVALID');
      expect(e.message).toContain(`update graph ${server.endpoint}?channel=stable-4.18`);
    } finally {
      server.setOverride(undefined);
    }
  });

  it('a closed port is E_NETWORK naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/graph`;
    const e = await failure(fetchUpdateGraph({ graphUrl: url, channel: 'stable-4.18', arch: 'amd64' }));
    expect(e.code).toBe('E_NETWORK');
    expect(e.message).toContain(`cannot fetch update graph ${url}?channel=stable-4.18&arch=amd64`);
  });

  it('a service that never answers times out with E_NETWORK', async () => {
    const silent = await startSilentServer();
    const port = silent.port;
    try {
      const started = Date.now();
      const e = await failure(
        fetchUpdateGraph({
          graphUrl: `http://127.0.0.1:${port}/g`,
          channel: 'c',
          arch: 'amd64',
          timeoutMs: 300,
        }),
      );
      expect(e.code).toBe('E_NETWORK');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await silent.stop();
    }
  });
});

describe('readUpdateGraphFile', () => {
  it('reads a saved graph and keeps its bytes', async () => {
    const path = join(dir, 'graph.json');
    const text = JSON.stringify(graphDocument(SAMPLE_GRAPH, 'amd64'));
    await writeFile(path, text);
    const got = await readUpdateGraphFile(path);
    expect(got.bytes.toString()).toBe(text);
    expect(got.graph.source).toBe(path);
  });

  it('refuses a file over the cap, a missing file and a damaged one', async () => {
    const path = join(dir, 'big.json');
    await writeFile(path, JSON.stringify(graphDocument(SAMPLE_GRAPH, 'amd64')));
    expect((await failure(readUpdateGraphFile(path, 100))).code).toBe('E_TOO_LARGE');
    expect((await failure(readUpdateGraphFile(join(dir, 'none.json')))).code).toBe('E_IO');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"nodes": [}');
    const e = await failure(readUpdateGraphFile(bad));
    expect(e.code).toBe('E_GRAPH_INVALID');
    expect(e.message).toContain(bad);
  });
});
