/**
 * The files unpack writes to --manifests-to-dir: the cluster files verify checked (their
 * verified bytes) and the mirror configuration bale generates for the destination.
 */
import type { BundleIndex } from '../../bundle/index-schema.js';
import type { KubeObject } from '../../cluster/kube-object.js';
import { mirrorConfig, toYaml } from '../../cluster/mirror-config.js';
import { destRepository, type Destination } from './registry-push.js';

export interface OutputFile {
  /** File name written in --manifests-to-dir. */
  file: string;
  /** Entry path in the bundle, or the generated file's name. */
  source: string;
  text: string;
  objects: KubeObject[];
  verifiedSignatures: boolean;
  generated: boolean;
}

export function generatedMirrorConfig(index: BundleIndex, dest: Destination, icsp: boolean): OutputFile[] {
  const sources = index.images.map((img) => ({
    source: img.source,
    mirror: `${dest.registry}/${destRepository(dest, img.repository)}`,
  }));
  const config = mirrorConfig({ sources });
  const out: OutputFile[] = [];
  const add = (file: string, obj: object): void => {
    out.push({
      file,
      source: file,
      text: toYaml(obj),
      objects: [obj as KubeObject],
      verifiedSignatures: false,
      generated: true,
    });
  };
  add('imagedigestmirrorset.yaml', config.idms);
  if (icsp) add('imagecontentsourcepolicy.yaml', config.icsp);
  return out;
}
