/**
 * The option groups the commands share (src/cli/common.ts) and the readers that hand
 * their values to the workflows: parsed by yargs as bale parses them, so a group that
 * loses an option, changes a default or a type, or a reader that maps a flag to the
 * wrong field, fails here.
 */
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import {
  bundleTrustOptions,
  imageSetArgs,
  imageSetOptions,
  keyringOption,
  registryArgs,
  registryOptions,
  releaseSignatureOptions,
  volumeSizeOption,
  type OptionGroup,
} from '../../src/cli/common.js';
import type { CliContext } from '../../src/cli/context.js';

function parse(argv: string[], ...groups: OptionGroup[]): Record<string, unknown> {
  let y = yargs(argv).strict().exitProcess(false);
  for (const g of groups) y = y.options(g);
  return y.parseSync() as Record<string, unknown>;
}

const ctx: CliContext = {
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  env: { HOME: '/home/u' },
  cwd: '/',
  homeDir: '/home/u',
  isTTY: false,
  color: false,
  signal: new AbortController().signal,
};

describe('option groups', () => {
  it('registryOptions: credentials (alias --authfile), the side’s TLS flag, CA file, concurrency 8 by default', () => {
    const src = parse(
      ['--authfile', 'a.json', '--src-tls-verify=false', '--ca-file', 'ca.pem'],
      registryOptions('src'),
    );
    expect(registryArgs(src, ctx)).toEqual({
      registryConfig: 'a.json',
      caFile: 'ca.pem',
      concurrency: 8,
      env: ctx.env,
      homeDir: ctx.homeDir,
      signal: ctx.signal,
    });
    expect(src['src-tls-verify']).toBe(false);
    const dest = parse(['--concurrency', '3'], registryOptions('dest'));
    expect(dest['dest-tls-verify']).toBe(true);
    expect(registryArgs(dest, ctx).concurrency).toBe(3);
    expect(() => parse(['--src-tls-verify=false'], registryOptions('dest'))).toThrow(/Unknown argument/);
  });

  it('imageSetOptions and imageSetArgs: release, config, graph-data, repeatable --image, --no-images', () => {
    const args = parse(
      [
        '--release',
        'q/r:1',
        '--config',
        'isc.yaml',
        '--graph-data',
        'q/g:latest',
        '--image',
        'a',
        '--image',
        'b',
      ],
      imageSetOptions,
    );
    expect(imageSetArgs(args)).toEqual({
      release: 'q/r:1',
      config: 'isc.yaml',
      graphData: 'q/g:latest',
      images: ['a', 'b'],
      noImages: false,
    });
    expect(imageSetArgs(parse(['--no-images'], imageSetOptions))).toMatchObject({
      images: [],
      noImages: true,
    });
  });

  it('keyring groups: repeatable files, each description saying what the keyring is for', () => {
    expect(parse(['--keyring', 'a.asc', '--keyring', 'b.asc'], keyringOption('for --deep')).keyring).toEqual([
      'a.asc',
      'b.asc',
    ]);
    expect(keyringOption('for --deep').keyring?.description).toBe(
      'OpenPGP keyring for --deep (repeatable). Default: Red Hat release key 2',
    );
    expect(releaseSignatureOptions.keyring?.description).toBe(
      'OpenPGP keyring to verify signatures (repeatable). Default: Red Hat release key 2, shipped with bale',
    );
    const trust = bundleTrustOptions('Accept unsigned content');
    expect(Object.keys(trust)).toEqual(['keyring', 'index-keyring', 'allow-unsigned']);
    const args = parse(['--index-keyring', 'i.asc', '--allow-unsigned'], trust);
    expect(args['index-keyring']).toEqual(['i.asc']);
    expect(args['allow-unsigned']).toBe(true);
    expect(parse([], trust)['allow-unsigned']).toBeUndefined();
  });

  it('volumeSizeOption: 4095MiB (fits FAT32) unless given', () => {
    expect(parse([], volumeSizeOption('x'))['volume-size']).toBe('4095MiB');
    expect(parse(['--volume-size', '700MiB'], volumeSizeOption('x'))['volume-size']).toBe('700MiB');
  });
});
