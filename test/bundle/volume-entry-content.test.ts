/**
 * One file entry's body checked as it streams (volume-entry-content.ts): the handler gets
 * the bytes; a body whose size or sha256 is not what the index says is reported (not
 * thrown) and the handler's stream errors instead of ending; what the handler leaves
 * unread is still read and checked; checkDigests false checks sizes only.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarBytes } from '../../fixtures/hostile/tar-surgery.js';
import type { Problem } from '../../src/bundle/problem.js';
import {
  checkEntryContent,
  type EntryContentContext,
  type TarEntry,
} from '../../src/bundle/volume-entry-content.js';
import type { ExpectedEntry } from '../../src/bundle/volume-reader.js';

const BODY = Buffer.from('the bytes of one blob, long enough to matter\n'.repeat(200));
const SHA = createHash('sha256').update(BODY).digest('hex');

/** Runs `check` on the first entry of a tar holding `body`, then drains the rest. */
async function withEntry<T>(body: Buffer, check: (entry: TarEntry) => Promise<T>): Promise<T> {
  const extract = tar.extract();
  extract.end(await tarBytes([{ header: { name: 'blob', type: 'file', mode: 0o644 }, body }]));
  let out: T | undefined;
  for await (const entry of extract) out ??= await check(entry);
  return out as T;
}

function context(over: Partial<EntryContentContext> = {}): {
  ctx: EntryContentContext;
  problems: Omit<Problem, 'volume'>[];
} {
  const problems: Omit<Problem, 'volume'>[] = [];
  return {
    problems,
    ctx: { volume: 'volume-001.tar.zst', checkDigests: true, report: (p) => problems.push(p), ...over },
  };
}

const expected = (over: Partial<ExpectedEntry> = {}): ExpectedEntry => ({
  path: 'blob',
  type: 'file',
  size: BODY.length,
  sha256: SHA,
  ...over,
});

async function readAll(content: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of content) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('checkEntryContent', () => {
  it('hands the handler the bytes and reports nothing when they match', async () => {
    let got: Buffer | undefined;
    const { ctx, problems } = context({ handle: async (_e, content) => void (got = await readAll(content)) });
    expect(await withEntry(BODY, (entry) => checkEntryContent(entry, expected(), ctx))).toBe(true);
    expect(got?.equals(BODY)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('reports a digest mismatch, and the handler stream errors instead of ending', async () => {
    let handlerError: unknown;
    const { ctx, problems } = context({
      handle: async (_e, content) => {
        await readAll(content).catch((err: unknown) => {
          handlerError = err;
          throw err;
        });
      },
    });
    const wrong = 'f'.repeat(64);
    expect(await withEntry(BODY, (entry) => checkEntryContent(entry, expected({ sha256: wrong }), ctx))).toBe(
      false,
    );
    expect(handlerError).toMatchObject({ code: 'E_DIGEST_MISMATCH' });
    expect(problems).toEqual([
      {
        code: 'E_DIGEST_MISMATCH',
        entry: 'blob',
        digest: `sha256:${wrong}`,
        message: `volume-001.tar.zst: entry blob has sha256 ${SHA}, bundle.json says ${wrong}`,
      },
    ]);
  });

  it('reads and checks what the handler leaves unread, and checks without a handler', async () => {
    const lazy = context({ handle: async () => undefined });
    const short = BODY.subarray(0, BODY.length - 1);
    expect(await withEntry(short, (entry) => checkEntryContent(entry, expected(), lazy.ctx))).toBe(false);
    expect(lazy.problems.map((p) => [p.code, p.message])).toEqual([
      [
        'E_SIZE_MISMATCH',
        `volume-001.tar.zst: entry blob is ${short.length} bytes, bundle.json says ${BODY.length}`,
      ],
    ]);
    const none = context();
    expect(
      await withEntry(BODY, (entry) =>
        checkEntryContent(entry, expected({ sha256: '0'.repeat(64) }), none.ctx),
      ),
    ).toBe(false);
    expect(none.problems.map((p) => p.code)).toEqual(['E_DIGEST_MISMATCH']);
  });

  it('with checkDigests false, checks the size only', async () => {
    const { ctx, problems } = context({ checkDigests: false });
    expect(
      await withEntry(BODY, (entry) => checkEntryContent(entry, expected({ sha256: '0'.repeat(64) }), ctx)),
    ).toBe(true);
    expect(problems).toEqual([]);
    expect(await withEntry(BODY, (entry) => checkEntryContent(entry, expected({ size: 1 }), ctx))).toBe(
      false,
    );
    expect(problems.map((p) => p.code)).toEqual(['E_SIZE_MISMATCH']);
  });

  it('rethrows an error of the handler that is not a check failure', async () => {
    const { ctx } = context({
      handle: () => Promise.reject(new Error('registry down')),
    });
    await expect(withEntry(BODY, (entry) => checkEntryContent(entry, expected(), ctx))).rejects.toThrow(
      'registry down',
    );
  });
});
