import { open } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BaleError } from '../src/errors.js';
import { asIoError, ioError } from '../src/io-error.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });

describe('ioError', () => {
  it('a real failed open becomes E_IO naming the path, its errno and a hint', async () => {
    const path = '/nonexistent-dir-for-bale/x';
    const err = await open(path, 'w').then(
      () => undefined,
      (e: NodeJS.ErrnoException) => ioError(e, path),
    );
    expect(err).toBeInstanceOf(BaleError);
    expect(err).toMatchObject({ code: 'E_IO', details: { path, errno: 'ENOENT' } });
    expect(err?.message).toContain(path);
    expect(err?.hint).toBeTruthy();
  });

  it('disk full and quota exceeded are E_NO_SPACE with a resume hint', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const err = ioError(errno(code), '/media/usb/volume-001.tar.zst');
      expect(err.code).toBe('E_NO_SPACE');
      expect(err.message).toContain('/media/usb/volume-001.tar.zst');
      expect(err.hint).toMatch(/resumes/);
    }
  });
});

describe('asIoError', () => {
  it('keeps disk full as disk full when it arrives wrapped in E_IO', () => {
    const wrapped = new BaleError('E_IO', 'write failed', { cause: errno('ENOSPC') });
    expect(asIoError(wrapped, '/t/f')).toMatchObject({ code: 'E_NO_SPACE', details: { path: '/t/f' } });
  });

  it('passes other BaleErrors through unchanged', () => {
    const e = new BaleError('E_DIGEST_MISMATCH', 'bad');
    expect(asIoError(e, '/t/f')).toBe(e);
    const io = new BaleError('E_IO', 'other', { cause: errno('EACCES') });
    expect(asIoError(io, '/t/f')).toBe(io);
  });

  it('turns an errno error into E_IO and leaves anything else alone', () => {
    expect(asIoError(errno('EACCES'), '/t/f')).toMatchObject({ code: 'E_IO', details: { errno: 'EACCES' } });
    const plain = new Error('not an errno');
    expect(asIoError(plain, '/t/f')).toBe(plain);
    expect(asIoError('text', '/t/f')).toBe('text');
  });
});
