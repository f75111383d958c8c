/**
 * bale unpack --to-dir, end to end with the compiled CLI: the directory must be oc's
 * `v2/` mirror layout (formats.md §2) so that `oc image mirror --from-dir` reads it
 * unchanged: tags are symlinks whose target is the bare `sha256:<hex>`, manifests are
 * hard links to the blob of the same digest, every blob's content hashes to its name;
 * config/ holds the signature ConfigMaps. Nothing may be written outside the directory,
 * not even through a symlink planted inside it, and a re-run changes nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBale } from '../../helpers/bale.js';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.js';
import { oneJson, packFixture, type PackedBundle } from './unpack-helpers.js';

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return `sha256:${h.digest('hex')}`;
}

/** Every path under `root` (relative), with its lstat. */
async function tree(root: string): Promise<Map<string, Awaited<ReturnType<typeof lstat>>>> {
  const out = new Map<string, Awaited<ReturnType<typeof lstat>>>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const p = join(dir, name);
      const st = await lstat(p);
      out.set(relative(root, p), st);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}

describe('bale unpack --to-dir', () => {
  let b: PackedBundle;
  let work: string;

  beforeAll(async () => {
    b = await packFixture(21);
    work = await makeTempDir('bale-todir-');
  });
  afterAll(async () => {
    await b?.setup.stop();
    if (work) await removeTempDir(work);
  });

  const args = (dir: string, extra: string[] = []): string[] => [
    'unpack',
    b.bundleDir,
    '--to-dir',
    dir,
    '--keyring',
    b.keyring,
    '--manifests-to-dir',
    join(work, 'manifests'),
    ...extra,
  ];

  it("writes oc's layout: tag symlinks, manifest hard links, blobs named by their digest, config/", async () => {
    const parent = join(work, 'parent');
    await mkdir(parent);
    const out = join(parent, 'mirror');
    const r = await runBale(args(out));
    expect(r.code, r.stderr).toBe(0);
    const version = b.index.releases[0]?.version ?? '';
    // The printed next step is oc's own upload command.
    expect(r.stdout).toContain(
      `oc image mirror --keep-manifest-list=true --from-dir=${out} 'file://openshift/release:${version}*' REGISTRY/REPOSITORY`,
    );
    // Nothing outside the directory.
    expect(await readdir(parent)).toEqual(['mirror']);

    const files = await tree(out);
    expect([...files.keys()].filter((p) => p.includes('.tmp-'))).toEqual([]);
    expect(files.get('config')?.isDirectory()).toBe(true);
    const hex = b.index.releases[0]?.digest.slice(7) ?? '';
    expect(files.get(`config/signature-sha256-${hex.slice(0, 16)}.yaml`)?.isFile()).toBe(true);

    let blobs = 0;
    let tags = 0;
    let manifests = 0;
    for (const [path, st] of files) {
      const m = /^v2\/(.+)\/(blobs|manifests)\/([^/]+)$/.exec(path);
      if (!m) continue;
      const [, repo, kind, name] = m as unknown as [string, string, string, string];
      const abs = join(out, path);
      if (kind === 'blobs') {
        expect(st.isFile(), path).toBe(true);
        expect(await fileSha256(abs), path).toBe(name);
        blobs++;
      } else if (name.startsWith('sha256:')) {
        // A manifest: the same inode as the blob of the same digest.
        expect(st.isFile(), path).toBe(true);
        const blob = await stat(join(out, 'v2', repo, 'blobs', name));
        expect(st.ino, path).toBe(blob.ino);
        expect(st.nlink).toBeGreaterThanOrEqual(2);
        manifests++;
      } else {
        // A tag: a symlink whose target is the bare digest, resolving to the manifest.
        expect(st.isSymbolicLink(), path).toBe(true);
        const target = await readlink(abs);
        expect(target).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect((await stat(abs)).ino).toBe((await stat(join(out, 'v2', repo, 'manifests', target))).ino);
        tags++;
      }
    }
    expect(blobs).toBeGreaterThan(0);
    expect(manifests).toBeGreaterThan(0);
    // Every image of bundle.json is there by digest and by each of its tags.
    for (const img of b.index.images) {
      const dir = join(out, 'v2', img.repository, 'manifests');
      expect((await lstat(join(dir, img.digest))).isFile(), `${img.repository}@${img.digest}`).toBe(true);
      for (const t of img.tags) expect(await readlink(join(dir, t))).toBe(img.digest);
    }
    expect(tags).toBe(b.index.images.reduce((n, i) => n + i.tags.length, 0));
    const rel = `v2/openshift/release/manifests/${version}-x86_64`;
    expect(await readlink(join(out, rel))).toBe(b.index.releases[0]?.digest);

    // Re-run: nothing written, the tree is identical (same inodes, same links).
    const again = await runBale(args(out, ['--json']));
    expect(again.code, again.stderr).toBe(0);
    const res = oneJson<{ toDir: { filesWritten: number; filesPresent: number } }>(again);
    expect(res.toDir.filesWritten).toBe(0);
    expect(res.toDir.filesPresent).toBeGreaterThan(0);
    const after = await tree(out);
    expect([...after.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [p, st] of files) {
      expect(after.get(p)?.ino, p).toBe(st.ino);
      expect(after.get(p)?.mtimeMs, p).toBe(st.mtimeMs);
    }
  });

  it('refuses to follow a symlink planted inside the target that points outside', async () => {
    const outside = join(work, 'outside');
    await mkdir(outside);
    const out = join(work, 'planted');
    await mkdir(join(out, 'v2', 'openshift'), { recursive: true });
    await symlink(outside, join(out, 'v2', 'openshift', 'release'));
    const r = await runBale(args(out));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_BUNDLE_HOSTILE');
    expect(r.stderr).toContain(join(out, 'v2', 'openshift', 'release'));
    expect(await readdir(outside)).toEqual([]);
    // The link was left alone, not replaced or followed.
    expect(await readlink(join(out, 'v2', 'openshift', 'release'))).toBe(outside);
  });

  it('replaces a planted symlink at a file path instead of writing through it', async () => {
    const victim = join(work, 'victim.txt');
    await writeFile(victim, 'do not touch\n');
    const out = join(work, 'planted-file');
    const blob = b.index.entries.find(
      (e) => e.type === 'file' && e.path.startsWith('v2/openshift/release/blobs/'),
    );
    expect(blob).toBeDefined();
    const target = join(out, ...(blob?.path ?? '').split('/'));
    await mkdir(join(target, '..'), { recursive: true });
    await symlink(victim, target);
    const r = await runBale(args(out));
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(victim, 'utf8')).toBe('do not touch\n');
    const st = await lstat(target);
    expect(st.isFile()).toBe(true);
    expect(await fileSha256(target)).toBe(`sha256:${blob?.sha256}`);
  });

  it('replaces a planted file of the right size but the wrong bytes', async () => {
    const out = join(work, 'planted-same-size');
    const blob = b.index.entries.find(
      (e) => e.type === 'file' && e.size > 0 && e.path.startsWith('v2/openshift/release/blobs/'),
    );
    expect(blob).toBeDefined();
    const target = join(out, ...(blob?.path ?? '').split('/'));
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, Buffer.alloc(blob?.size ?? 0, 0x41));
    const r = await runBale(args(out));
    expect(r.code, r.stderr).toBe(0);
    expect(await fileSha256(target)).toBe(`sha256:${blob?.sha256}`);
  });

  it('refuses a --to-dir that is a symlink: no lock or file is written through it, exit 1', async () => {
    const outside = join(work, 'outside-linked-target');
    await mkdir(outside);
    const linked = join(work, 'linked-target');
    await symlink(outside, linked);
    const r = await runBale(args(linked));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('E_BUNDLE_HOSTILE');
    expect(r.stderr).toContain(linked);
    expect(await readdir(outside)).toEqual([]);
  });
});
