/**
 * `npm run demo` end to end (dist/fixtures/demo.js, built by `npm run build`), with a
 * small fixture so that it stays fast: every step narrated, every digest arrives, and
 * nothing is left behind. Also what it says when docker-registry or skopeo is missing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const DEMO = fileURLToPath(new URL('../../dist/fixtures/demo.js', import.meta.url));

function runDemo(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  it('narrates the whole story, checks every digest with skopeo, exits 0 and cleans up', async () => {
    const r = await runDemo(['--components', '2', '--layer-bytes', String(128 * 1024), '--no-install'], {
      PATH: process.env.PATH,
      HOME: '/nonexistent-bale-home',
      CI: 'true',
    });
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    const out = r.stdout;
    // Each step and the command lines it ran.
    for (const step of [
      '1. Two registries',
      '2. Two releases of one update path to carry',
      '3. Connected side: bale pack --config',
      '4. Audit: bale verify, and plain sha256sum',
      '5. Audit: bale inspect',
      '6. Disconnected side: bale unpack',
      '7. Check with skopeo that every digest arrived',
      '8. For the cluster',
    ]) {
      expect(out).toContain(`=== ${step}`);
    }
    // The image set is a file (an ImageSetConfiguration), the update path comes from the graph.
    expect(out).toMatch(/^kind: ImageSetConfiguration$/m);
    expect(out).toMatch(
      /^\$ bale pack --config \S+imageset-config\.yaml --graph-url http:\/\/127\.0\.0\.1:\d+\//m,
    );
    expect(out).toMatch(/^Packed OpenShift 4\.18\.3, 4\.18\.7 \(2 releases\)/m);
    expect(out).toMatch(/^\$ bale verify \S+ --keyring \S+$/m);
    expect(out).toMatch(/^OK: /m);
    // The trust report: bundle.json's signature state and each item's anchor.
    expect(out).toMatch(/^Trust: bundle\.json is not signed/m);
    expect(out).toMatch(/^ {2}image openshift\/release@sha256:[0-9a-f]{64}: release signature/m);
    expect(out).toContain('Every image, tag and cluster object is anchored to a verified signature.');
    expect(out).toMatch(/^\$ \(cd \S+ && sha256sum -c SHA256SUMS\)$/m);
    expect(out).toMatch(/^volume-001\.tar\.zst: OK$/m);
    expect(out).not.toMatch(/: FAILED$/m);
    expect(out).toMatch(/^\$ bale inspect /m);
    expect(out).toMatch(
      /^\$ bale unpack \S+ --to 127\.0\.0\.1:\d+\/ocp4 --to-dir \S+ --manifests-to-dir \S+/m,
    );
    expect(out).toMatch(/^Unpacked OpenShift 4\.18\.3, 4\.18\.7 \(2 releases\)/m);
    expect(out).toMatch(/^\$ skopeo .*inspect --raw/m);
    expect(out).not.toContain('MISSING');
    expect(out).toMatch(/All \d+ manifest digests from bundle\.json are in the mirror registry/);
    expect(out).toMatch(/^kind: ConfigMap$/m);
    expect(out).toContain('release.openshift.io/verification-signatures');
    expect(out).toMatch(/^kind: ImageDigestMirrorSet$/m);
    expect(out).toMatch(/=== Done in [\d.]+ s/);
    // Both releases' signatures anchor their images.
    expect(out).toContain('signed as quay.io/openshift-release-dev/ocp-release:4.18.3-x86_64');
    expect(out).toContain('signed as quay.io/openshift-release-dev/ocp-release:4.18.7-x86_64');

    // Cleaned up: the work dir is gone and both registries are stopped.
    const root = /^Working in (\S+)$/m.exec(out)?.[1];
    expect(root).toBeDefined();
    expect(existsSync(root ?? '/')).toBe(false);
    const pids = [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 150_000);

  describe('without docker-registry or skopeo', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await makeTempDir('bale-demo-path-');
      // A PATH with a shell and nothing else: skopeo and zstd are "missing".
      await symlink('/bin/sh', join(dir, 'sh'));
    });
    afterAll(async () => {
      if (dir) await removeTempDir(dir);
    });

    it('says exactly what to install and exits 1 (never installs with --no-install)', async () => {
      const r = await runDemo(['--no-install'], { PATH: dir, HOME: '/nonexistent-bale-home' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('missing skopeo, zstd');
      expect(r.stderr).toContain(
        'sudo apt-get update && sudo apt-get install -y docker-registry skopeo zstd',
      );
      expect(r.stdout).not.toContain('apt-get update &&');
    });
  });
});
