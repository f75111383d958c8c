/**
 * Tar constructs that bale and GNU tar could read differently are refused, so that the
 * standard-tools audit (`zstd -dc | tar -x`) sees exactly what bale verified.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { readTarItems, removeDir, reseal, tarBytes, type TarItem } from '../../fixtures/hostile/damage.js';
import { buildValidBundle, makeSigningKey, type ValidBundle } from '../../fixtures/hostile/valid-bundle.js';
import { StrictTarScanner } from '../../src/bundle/tar-strict.js';
import { verifyBundle } from '../../src/bundle/verify-bundle.js';

const run = promisify(execFile);
const file = (name: string, body: string): TarItem => ({
  header: { name, type: 'file', mode: 0o644 },
  body: Buffer.from(body),
});

/** Rewrites the header block at `at` and fixes its checksum. */
function patch(tar: Buffer, at: number, edit: (h: Buffer) => void): Buffer {
  const out = Buffer.from(tar);
  const h = out.subarray(at, at + 512);
  edit(h);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return out;
}

function scan(tar: Buffer, chunk = tar.length): void {
  const s = new StrictTarScanner('volume-001.tar.zst');
  for (let i = 0; i < tar.length; i += chunk) s.push(tar.subarray(i, i + chunk));
}

describe('StrictTarScanner', () => {
  it("accepts what bale's writer makes, fed whole or byte by byte (long names via pax path)", async () => {
    const long = `v2/${'a'.repeat(150)}/blobs/x`;
    const tar = await tarBytes([
      file('config/a.yaml', 'a: 1\n'),
      file(long, 'x'),
      { header: { name: 'v2/r/manifests/t', type: 'symlink', linkname: 'sha256:00' }, body: Buffer.alloc(0) },
    ]);
    expect(() => scan(tar)).not.toThrow();
    expect(() => scan(tar, 1)).not.toThrow();
  });

  const cases: [string, () => Promise<Buffer>, RegExp][] = [
    [
      'an entry hidden after the end-of-archive marker (GNU tar stops there)',
      async () =>
        Buffer.concat([
          await tarBytes([file('config/a.yaml', 'a')]),
          await tarBytes([file('config/b.yaml', 'b')]),
        ]),
      /after the end-of-archive marker/,
    ],
    [
      'a pax global header',
      async () =>
        patch(await tarBytes([file(`config/${'l'.repeat(120)}.yaml`, 'a')]), 0, (h) => (h[156] = 0x67)),
      /type "g"/,
    ],
    [
      'a GNU-format header (its prefix field means something else)',
      async () =>
        patch(await tarBytes([file('config/a.yaml', 'a')]), 0, (h) => h.write('ustar  \0', 257, 'latin1')),
      /not POSIX ustar/,
    ],
    [
      'a symlink that carries data',
      async () =>
        patch(
          await tarBytes([
            {
              header: { name: 'v2/r/manifests/t', type: 'symlink', linkname: 'sha256:00' },
              body: Buffer.alloc(0),
            },
          ]),
          0,
          (h) => h.write('00000000001\0', 124, 'latin1'),
        ),
      /link entry that carries data/,
    ],
    [
      // GNU tar takes the body of an `L` entry as the name of the next entry: bale's
      // parser and GNU tar would name that file differently.
      'a GNU long-name header (type L) in a ustar header',
      async () =>
        patch(
          await tarBytes([file('././@LongLink', 'config/other.yaml\0'), file('config/a.yaml', 'a')]),
          0,
          (h) => (h[156] = 0x4c),
        ),
      /type "L"/,
    ],
    [
      'a GNU long-link header (type K) in a ustar header',
      async () =>
        patch(
          await tarBytes([
            file('././@LongLink', 'sha256:elsewhere\0'),
            {
              header: { name: 'v2/r/manifests/t', type: 'symlink', linkname: 'sha256:00' },
              body: Buffer.alloc(0),
            },
          ]),
          0,
          (h) => (h[156] = 0x4b),
        ),
      /type "K"/,
    ],
    [
      'a GNU long-name header (type L) in a GNU-format header',
      async () =>
        patch(
          await tarBytes([file('././@LongLink', 'config/other.yaml\0'), file('config/a.yaml', 'a')]),
          0,
          (h) => {
            h[156] = 0x4c;
            h.write('ustar  \0', 257, 'latin1');
          },
        ),
      /not POSIX ustar/,
    ],
    [
      'a base-256 size',
      async () => patch(await tarBytes([file('config/a.yaml', 'a')]), 0, (h) => (h[124] = 0x80)),
      /base-256/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(`refuses ${name}`, async () => {
      const tar = await make();
      expect(() => scan(tar)).toThrow(
        expect.objectContaining({ code: 'E_BUNDLE_HOSTILE', message: expect.stringMatching(message) }),
      );
      expect(() => scan(tar, 7)).toThrow(message);
    });
  }

  it('refuses pax keys other than path and linkpath (size, GNU.sparse.*)', () => {
    const tar = paxWithSize();
    expect(() => scan(tar)).toThrow(/pax header with key "size"/);
  });

  describe('fed one byte at a time', () => {
    /** The error (code, message, offset) a scan of `tar` in `chunk`-byte pieces ends with. */
    const outcome = (tar: Buffer, chunk: number): unknown => {
      try {
        scan(tar, chunk);
        return undefined;
      } catch (err) {
        const e = err as { code?: string; message: string; details?: unknown };
        return { code: e.code, message: e.message, details: e.details };
      }
    };

    for (const [name, make] of [
      ...cases,
      ['pax keys other than path and linkpath', async () => paxWithSize()],
    ] as [string, () => Promise<Buffer>][]) {
      it(`refuses ${name} with the same error, at the same byte, as fed whole`, async () => {
        const tar = await make();
        const whole = outcome(tar, tar.length);
        expect(whole).toMatchObject({ code: 'E_BUNDLE_HOSTILE' });
        expect(outcome(tar, 1)).toEqual(whole);
      });
    }

    it('a stream cut inside a header or a pax body is not an error by itself (the tar parser reports the truncation)', async () => {
      const tar = await tarBytes([file(`config/${'l'.repeat(120)}.yaml`, 'a')]);
      for (const cut of [100, 512 + 20, 1024 + 7]) expect(outcome(tar.subarray(0, cut), 1)).toBeUndefined();
    });
  });
});

/** A pax header with the key `size`, which GNU tar would obey and bale's parser ignore. */
function paxWithSize(): Buffer {
  const body = Buffer.from('12 size=999\n');
  const header = Buffer.alloc(512);
  header.write('PaxHeader', 0, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header[156] = 0x78;
  header.write('ustar\u000000', 257, 'latin1');
  return patch(Buffer.concat([header, body, Buffer.alloc(512 - body.length)]), 0, () => {});
}

describe('verify refuses a volume with an entry hidden after its end-of-archive marker', () => {
  let root: string;
  let b: ValidBundle;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bale-tar-strict-'));
    b = await buildValidBundle(join(root, 'pristine'), await makeSigningKey());
  }, 60_000);
  afterAll(async () => {
    await removeDir(root);
  });

  it('GNU tar would not extract what bale verified: E_BUNDLE_HOSTILE, naming the volume', async () => {
    const dir = join(root, 'hidden');
    await cp(b.dir, dir, { recursive: true });
    const volume = b.index.volumes[0]?.name ?? '';
    const items = await readTarItems(join(dir, volume));
    // The first entry, an end-of-archive marker, then the rest: GNU tar extracts only the first.
    const tar = Buffer.concat([await tarBytes(items.slice(0, 1)), await tarBytes(items.slice(1))]);
    await writeFile(join(dir, volume), compress(tar));
    await reseal(dir, JSON.parse(JSON.stringify(b.index)));
    const out = join(root, 'gnu');
    await mkdir(out);
    await run('sh', ['-c', `zstd -dc ${volume} | tar -x -C ${out}`], { cwd: dir });
    // GNU tar extracted the first entry only: the last one is not there.
    const last = items[items.length - 1]?.header.name ?? '';
    const extracted = await readdir(out, { recursive: true });
    expect(extracted).toContain(items[0]?.header.name);
    expect(extracted).not.toContain(last);
    const report = await verifyBundle(dir, { keyrings: [] });
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        code: 'E_BUNDLE_HOSTILE',
        volume,
        message: expect.stringMatching(/end-of-archive/),
      }),
    );
  });
});
