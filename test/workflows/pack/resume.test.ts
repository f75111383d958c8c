/**
 * pack after SIGKILL, through a fault proxy that throttles blob downloads so a pack takes
 * a few seconds: killed during downloads (some blobs written, one mid-download), after a
 * volume finished, and after bundle.json was written. The same command run again must
 * not GET any blob written before the kill (the proxy's request log says; a blob is
 * written once the journal records the frame boundary after its entry), must fetch each
 * interrupted blob once more (its bytes in flight are all that is lost: blobs stream into
 * the volume, there is no staged copy to continue with Range), keep finished volumes,
 * and produce volumes byte-identical to an uninterrupted pack. Also: a second pack into
 * the same directory while the first runs refuses with E_LOCKED.
 */
import type { ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureRelease, type FixtureRelease, fixturePackArgs } from '../../../fixtures/index.js';
import type { BundleIndex } from '../../../src/bundle/index-schema.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { runBale, spawnBale } from '../../helpers/bale.js';
import { startFaultProxy, type FaultPlan, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { expectFinishedBundle, expectSameVolumes, readIndex, volumeNames } from './helpers.js';

const SEED = 71;
const MiB = 1024 * 1024;
const LARGE = 3 * MiB;
const BLOB_GET = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/;
const THROTTLE: FaultPlan = {
  rules: [{ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'throttle', bytesPerSecond: MiB } }],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value; fails early if `child` ends first. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  child?: ChildProcess,
  timeoutMs = 30_000,
): Promise<T> {
  const started = Date.now();
  let stderr = '';
  child?.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`bale exited (${child.exitCode ?? child.signalCode}) before ${what}: ${stderr}`);
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function kill9(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  const r = await exited(child);
  expect(r.signal).toBe('SIGKILL');
}

/** Staged blobs in .bale/blobs: complete ones (digest) and partial ones (digest → bytes on disk). */
async function staged(dir: string): Promise<{ done: Set<string>; partial: Map<string, number> }> {
  const blobs = join(dir, '.bale', 'blobs');
  const done = new Set<string>();
  const partial = new Map<string, number>();
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    const m = /^sha256-([0-9a-f]{64})(\.partial)?$/.exec(name);
    if (!m) continue;
    if (m[2]) partial.set(`sha256:${m[1]}`, (await stat(join(blobs, name)).catch(() => ({ size: 0 }))).size);
    else done.add(`sha256:${m[1]}`);
  }
  return { done, partial };
}

/** Entry paths the journal records as written: finished volumes and the last checkpoint. */
async function journaledPaths(dir: string): Promise<Set<string>> {
  try {
    const j = JSON.parse(await readFile(join(dir, '.bale', 'journal.json'), 'utf8')) as {
      volumes: { entryRecords: { path: string }[] }[];
      partial?: { checkpoint: { records: { path: string }[] } };
    };
    const records = [...j.volumes.flatMap((v) => v.entryRecords), ...(j.partial?.checkpoint.records ?? [])];
    return new Set(records.map((r) => r.path));
  } catch {
    return new Set();
  }
}

/** Blob digests whose every part the journal records as written (per a reference index). */
async function blobsWritten(dir: string, index: BundleIndex): Promise<Set<string>> {
  const paths = await journaledPaths(dir);
  const out = new Set<string>();
  for (const e of index.entries) {
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(e.path);
    if (!m?.[1]) continue;
    const parts = e.parts ? e.parts.map((p) => p.path) : [e.path];
    if (parts.every((p) => paths.has(p))) out.add(m[1]);
  }
  return out;
}

async function journalVolumes(dir: string): Promise<string[]> {
  try {
    const j = JSON.parse(await readFile(join(dir, '.bale', 'journal.json'), 'utf8')) as {
      volumes: { name: string }[];
    };
    return j.volumes.map((v) => v.name);
  } catch {
    return [];
  }
}

/** Blob digests whose every byte sits in `volumes` (per a reference index). */
function blobsWhollyIn(index: BundleIndex, volumes: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const e of index.entries) {
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(e.path);
    if (!m?.[1]) continue;
    const where = e.parts ? e.parts.map((p) => p.volume) : [e.volume ?? ''];
    if (where.every((v) => volumes.has(v))) out.add(m[1]);
  }
  return out;
}

describe('bale pack resumes after SIGKILL (fault proxy in front of the registry)', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let work: string;
  let fx: FixtureRelease;
  let refDefault: string;
  let ref1M: string;
  let args: string[];

  const blobGets = (from: number) =>
    proxy.log
      .slice(from)
      .filter((e) => e.method === 'GET' && BLOB_GET.test(e.path))
      .map((e) => ({ digest: BLOB_GET.exec(e.path)?.[1] ?? '', range: e.range, status: e.status }));

  beforeAll(async () => {
    console.log(`resume: fixture seed ${SEED}`);
    reg = await startRegistry({ auth: 'none' });
    proxy = await startFaultProxy(reg.host, {});
    work = await makeTempDir('bale-pack-resume-');
    // The release names the proxy as its registry, so every pull of pack goes through it.
    const client = new RegistryClient({});
    try {
      fx = await buildFixtureRelease(client, {
        registry: proxy.host,
        seed: SEED,
        largeBlobBytes: LARGE,
        workDir: join(work, 'fx'),
      });
    } finally {
      await client.close();
    }
    args = [...fixturePackArgs(fx), '--quiet'];
    refDefault = join(work, 'ref-default');
    ref1M = join(work, 'ref-1m');
    const from = proxy.log.length;
    const r = await runBale([...args, '--to', refDefault]);
    expect(r.code, r.stderr).toBe(0);
    // An uninterrupted pack GETs each blob exactly once (metadata blobs included), never with Range.
    const gets = blobGets(from);
    expect(gets.length).toBeGreaterThan(10);
    expect(new Set(gets.map((g) => g.digest)).size).toBe(gets.length);
    expect(gets.every((g) => g.range === undefined && g.status === 200)).toBe(true);
    expect((await runBale([...args, '--to', ref1M, '--volume-size', '1MiB'])).code).toBe(0);
    expect((await volumeNames(ref1M)).length).toBeGreaterThanOrEqual(4);
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    if (work) await removeTempDir(work);
  });

  /** Blob GETs the proxy has started and not finished. */
  const inFlight = () =>
    new Set(
      proxy.log
        .filter((e) => e.method === 'GET' && !e.done && BLOB_GET.test(e.path))
        .map((e) => BLOB_GET.exec(e.path)?.[1] ?? ''),
    );

  it('killed during downloads (blobs written, one mid-download): no written blob again, the interrupted one once', async () => {
    const to = join(work, 'kill-downloads');
    const refIndex = await readIndex(refDefault);
    proxy.setPlan(THROTTLE);
    const child = spawnBale([...args, '--to', to]);
    const large = fx.largeBlob?.digest ?? '';
    await waitFor(
      'some blobs written and the large blob mid-download',
      async () => {
        const done = await blobsWritten(to, refIndex);
        return done.size >= 3 && !done.has(large) && inFlight().has(large) ? true : undefined;
      },
      child,
    );
    await kill9(child);
    proxy.setPlan({});
    await proxy.settled();
    const written = await blobsWritten(to, refIndex);
    expect(written.size).toBeGreaterThanOrEqual(3);
    expect(written.has(large)).toBe(false);
    const done = new Set([...written, ...(await staged(to)).done]); // metadata blobs stay staged

    const from = proxy.log.length;
    const r = await runBale([...args, '--to', to]);
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    const gets = blobGets(from);
    for (const g of gets) expect(done.has(g.digest), `${g.digest} was written before the kill`).toBe(false);
    expect(new Set(gets.map((g) => g.digest)).size).toBe(gets.length); // each blob at most once
    const largeGets = gets.filter((g) => g.digest === large);
    expect(largeGets).toEqual([{ digest: large, range: undefined, status: 200 }]);
    console.log(
      `kill during downloads: ${done.size} blobs written before the kill; re-run GET ${gets.length} blobs`,
    );
    await expectFinishedBundle(to);
    await expectSameVolumes(refDefault, to);
  }, 90_000);

  it('killed after a volume finished: finished volumes kept, their blobs not fetched again', async () => {
    const to = join(work, 'kill-volume');
    // Blobs that go only into the last two volumes come slowly, so that the kill after the
    // first volume finds them mid-download.
    const refIndex = await readIndex(ref1M);
    const refVolumes = refIndex.volumes.map((v) => v.name);
    const late = [...blobsWhollyIn(refIndex, new Set(refVolumes.slice(-2)))].filter((d) =>
      fx.allImages.every((i) => i.digest !== d),
    );
    expect(late.length).toBeGreaterThan(0);
    proxy.setPlan({
      rules: [
        {
          method: 'GET',
          path: new RegExp(`/blobs/(${late.join('|')})$`),
          fault: { kind: 'throttle', bytesPerSecond: 64 * 1024 },
        },
      ],
    });
    const child = spawnBale([...args, '--to', to, '--volume-size', '1MiB']);
    await waitFor(
      'a finished volume in the journal and a late blob mid-download',
      async () => {
        if ((await journalVolumes(to)).length === 0) return undefined;
        const flying = inFlight();
        return late.some((d) => flying.has(d)) ? true : undefined;
      },
      child,
    );
    await kill9(child);
    proxy.setPlan({});
    await proxy.settled();
    const finished = new Set(await journalVolumes(to));
    const total = refVolumes.length;
    expect(finished.size).toBeGreaterThanOrEqual(1);
    expect(finished.size).toBeLessThan(total); // killed before the end
    const inodes = new Map<string, number>();
    for (const v of finished) inodes.set(v, (await stat(join(to, v))).ino);
    // Metadata blobs (configs) read before planning stay staged in .bale/blobs: finished too.
    const done = new Set([
      ...(await staged(to)).done,
      ...(await blobsWritten(to, refIndex)),
      ...blobsWhollyIn(refIndex, finished),
    ]);
    const interrupted = late.filter((d) => !done.has(d));
    expect(interrupted.length).toBeGreaterThan(0);

    const from = proxy.log.length;
    const r = await runBale([...args, '--to', to, '--volume-size', '1MiB']);
    expect(r.code, r.stderr).toBe(0);
    const gets = blobGets(from);
    for (const g of gets) expect(done.has(g.digest), `${g.digest} was finished before the kill`).toBe(false);
    for (const [v, ino] of inodes) expect((await stat(join(to, v))).ino, `${v} rewritten`).toBe(ino);
    // What was in flight is fetched once more, whole; nothing else twice.
    expect(new Set(gets.map((g) => g.digest)).size).toBe(gets.length);
    for (const digest of interrupted) {
      expect(gets.filter((g) => g.digest === digest)).toEqual([{ digest, range: undefined, status: 200 }]);
    }
    console.log(
      `kill after a volume: ${finished.size}/${total} volumes, ${done.size} blobs finished, ${interrupted.length} interrupted; re-run GET ${gets.length} blobs`,
    );
    await expectFinishedBundle(to);
    await expectSameVolumes(ref1M, to);
  }, 90_000);

  it('killed after bundle.json was written: the re-run finishes the same bundle without downloading', async () => {
    let to = '';
    let landed = false;
    // The window between bundle.json and the end is a few fsyncs: kill on the rename's
    // inotify event. Should the pack win the race, try again in a fresh directory.
    for (let attempt = 1; attempt <= 3 && !landed; attempt++) {
      to = join(work, `kill-index-${attempt}`);
      const child = spawnBale([...args, '--to', to]);
      await waitFor('the target directory', async () =>
        (await stat(to).catch(() => undefined)) ? true : undefined,
      );
      const watcher = watch(to, (_event, name) => {
        if (name === 'bundle.json') child.kill('SIGKILL');
      });
      const r = await exited(child);
      watcher.close();
      const names = await readdir(to);
      landed = r.signal === 'SIGKILL' && names.includes('bundle.json') && names.includes('.bale');
      console.log(
        `kill after bundle.json, attempt ${attempt}: ${r.signal ?? r.code} with ${names.join(' ')}`,
      );
    }
    expect(landed).toBe(true);
    const blobsLeft = (await staged(to)).done.size;
    const from = proxy.log.length;
    const r = await runBale([...args, '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    if (blobsLeft > 0) expect(blobGets(from)).toEqual([]); // metadata blobs were still staged
    await expectFinishedBundle(to);
    await expectSameVolumes(refDefault, to);
  }, 90_000);

  it('a second pack into the same directory while the first runs refuses with E_LOCKED', async () => {
    const to = join(work, 'locked');
    proxy.setPlan(THROTTLE);
    const first = spawnBale([...args, '--to', to]);
    try {
      await waitFor('the lock', async () =>
        (await stat(join(to, '.bale', '.bale.lock')).catch(() => undefined)) ? true : undefined,
      );
      const second = await runBale([...args, '--to', to]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('[E_LOCKED]');
      expect(second.stderr).toContain(`held by process ${first.pid ?? '?'}`);
      expect(first.exitCode).toBeNull(); // the first one is still at work, undisturbed
    } finally {
      proxy.setPlan({});
    }
    const r = await exited(first);
    expect(r.code).toBe(0);
    await expectFinishedBundle(to);
    await expectSameVolumes(refDefault, to);
  }, 90_000);
});
