/**
 * The cluster objects bale generates for a mirror, as files to write and objects to
 * apply, shared by `unpack` and `bale mirror`:
 *
 * - `imagedigestmirrorset.yaml`: every carried repository, for pulls by digest;
 * - `imagetagmirrorset.yaml`: the repositories of content referenced by tag (additional
 *   images from a config, `--image` by tag), for pulls by tag; the IDMS still covers
 *   their digests;
 * - `imagecontentsourcepolicy.yaml` on request (clusters before 4.13);
 * - `updateservice.yaml` when graph-data is carried: the OpenShift Update Service reads
 *   the mirrored graph-data image (by digest) and the mirrored release repository.
 *
 * Only these kinds come out of here (src/cluster/allowed-objects.ts GENERATED_KINDS).
 */
import type { KubeObject } from './kube-object.js';
import { mirrorConfig, toYaml, type MirrorSource } from './mirror-config.js';
import { tagMirrorSet } from './tag-mirror-set.js';
import { updateService } from './update-service.js';

export interface GeneratedFile {
  /** File name in the manifests directory. */
  file: string;
  text: string;
  objects: KubeObject[];
}

export interface MirroredRepository extends MirrorSource {
  /** Content here is referenced by tag too: it also gets an ImageTagMirrorSet entry. */
  byTag?: boolean;
}

export const IDMS_FILE = 'imagedigestmirrorset.yaml';
export const ITMS_FILE = 'imagetagmirrorset.yaml';
export const ICSP_FILE = 'imagecontentsourcepolicy.yaml';
export const UPDATE_SERVICE_FILE = 'updateservice.yaml';

function file(name: string, obj: object): GeneratedFile {
  return { file: name, text: toYaml(obj), objects: [obj as KubeObject] };
}

export function generatedObjects(opts: {
  repositories: readonly MirroredRepository[];
  icsp?: boolean;
  /** Mirrored release repository and graph-data image by digest. */
  updateService?: { releases: string; graphDataImage: string };
}): GeneratedFile[] {
  const out: GeneratedFile[] = [];
  const sources = opts.repositories.map(({ source, mirror }) => ({ source, mirror }));
  if (sources.length > 0) {
    const config = mirrorConfig({ sources });
    out.push(file(IDMS_FILE, config.idms));
    if (opts.icsp === true) out.push(file(ICSP_FILE, config.icsp));
  }
  const byTag = opts.repositories.filter((r) => r.byTag === true);
  if (byTag.length > 0) {
    out.push(
      file(ITMS_FILE, tagMirrorSet({ sources: byTag.map(({ source, mirror }) => ({ source, mirror })) })),
    );
  }
  if (opts.updateService !== undefined)
    out.push(file(UPDATE_SERVICE_FILE, updateService(opts.updateService)));
  return out;
}
