/** A thin-manifest directory with two sub-projects, as the promoter's own examples (shared by the imageset tests). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const D1 = `sha256:${'a1'.repeat(32)}`;
export const D2 = `sha256:${'b2'.repeat(32)}`;

/** Writes `text` at `dir/rel`, making the directories. */
export async function put(dir: string, rel: string, text: string): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** `dir/thin`: manifests/<x>/promoter-manifest.yaml and images/<x>/images.yaml for sig-storage and kas-network-proxy. */
export async function thinTree(dir: string): Promise<string> {
  const root = join(dir, 'thin');
  await put(
    dir,
    'thin/manifests/sig-storage/promoter-manifest.yaml',
    'registries:\n- name: gcr.io/k8s-staging-sig-storage\n  src: true\n- name: us.gcr.io/k8s-artifacts-prod/sig-storage\n',
  );
  await put(
    dir,
    'thin/images/sig-storage/images.yaml',
    `- name: csi-attacher\n  dmap:\n    "${D1}": ["v4.8.0"]\n`,
  );
  await put(
    dir,
    'thin/manifests/kas-network-proxy/promoter-manifest.yaml',
    'registries:\n- name: gcr.io/k8s-staging-kas-network-proxy\n  src: true\n',
  );
  await put(
    dir,
    'thin/images/kas-network-proxy/images.yaml',
    `- name: proxy-agent\n  dmap:\n    "${D2}": ["v0.31.0"]\n`,
  );
  return root;
}
