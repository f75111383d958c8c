/**
 * The cluster side of `bale mirror`, with unpack's options: the signature ConfigMap of
 * the verified release signatures and an ImageDigestMirrorSet for what now lives at the
 * destination, written to directories and/or applied. Only these objects, generated
 * here from verified signatures and the plan, are ever applied.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../bundle/atomic-write.js';
import type { ApplyResult } from '../../cluster/apply.js';
import type { KubeObject } from '../../cluster/kube-object.js';
import { parseManifests } from '../../cluster/manifests.js';
import { mirrorConfig, toYaml } from '../../cluster/mirror-config.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { underPrefix, type RegistryTarget } from '../../registry/registry-target.js';
import { signatureConfigMap, signatureConfigMapName } from '../../signature/configmap.js';
import type { KeptSignature } from '../../signature/gather-signatures.js';
import type { PlanEntry } from '../../sets/plan-images.js';

export interface ClusterOptions {
  releaseImageSignatureToDir?: string;
  manifestsToDir?: string;
  applyReleaseImageSignature?: boolean;
  applyManifests?: boolean;
  overwrite?: boolean;
  /** Server-side dry run of the apply; nothing is written to the directories either. */
  dryRun?: boolean;
  kubeconfig?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
}

export interface ClusterResult {
  files: string[];
  applied: ApplyResult[];
  /** A conflict or an error in the apply. */
  failed: boolean;
}

interface GeneratedFile {
  file: string;
  text: string;
  objects: KubeObject[];
  signature: boolean;
}

export async function clusterSide(
  o: ClusterOptions,
  input: {
    releaseDigest?: string;
    signatures: KeptSignature[];
    images: readonly PlanEntry[];
    target: RegistryTarget;
    progress: Progress;
  },
): Promise<ClusterResult> {
  const files: GeneratedFile[] = [];
  if (input.releaseDigest !== undefined && input.signatures.length > 0) {
    const file = signatureConfigMapName(input.releaseDigest);
    const text = signatureConfigMap(
      input.releaseDigest,
      input.signatures.map((s) => s.bytes),
    );
    files.push({ file, text, objects: parseManifests(text, file), signature: true });
  }
  if (input.images.length > 0) {
    const { idms } = mirrorConfig({
      sources: input.images.map((e) => ({
        source: e.source,
        mirror: `${input.target.registry}/${underPrefix(input.target, e.name)}`,
      })),
    });
    const text = toYaml(idms);
    files.push({
      file: 'imagedigestmirrorset.yaml',
      text,
      objects: [idms as unknown as KubeObject],
      signature: false,
    });
  }
  if ((o.applyReleaseImageSignature || o.releaseImageSignatureToDir) && !files.some((f) => f.signature)) {
    throw new BaleError(
      'E_USAGE',
      'there is no release signature to write or apply: no --release was mirrored',
      {
        hint: 'Pass --release, or leave out --apply-release-image-signature and --release-image-signature-to-dir.',
      },
    );
  }
  const out: ClusterResult = { files: [], applied: [], failed: false };
  if (!o.dryRun) {
    if (o.releaseImageSignatureToDir !== undefined)
      out.files.push(
        ...(await writeFiles(
          o.releaseImageSignatureToDir,
          files.filter((f) => f.signature),
        )),
      );
    if (o.manifestsToDir !== undefined) out.files.push(...(await writeFiles(o.manifestsToDir, files)));
  }
  const toApply = files
    .filter((f) => o.applyManifests || (o.applyReleaseImageSignature && f.signature))
    .flatMap((f) => f.objects);
  if (toApply.length === 0) return out;
  input.progress.phase('apply', { items: toApply.length });
  const [{ applyFailed, applyObjects }, { loadKubeConfig }] = await Promise.all([
    import('../../cluster/apply.js'),
    import('../../cluster/kube-client.js'),
  ]);
  const { kubeConfig } = await loadKubeConfig({ kubeconfig: o.kubeconfig, env: o.env, homeDir: o.homeDir });
  out.applied = await applyObjects(toApply, {
    kubeConfig,
    overwrite: Boolean(o.overwrite),
    dryRun: Boolean(o.dryRun),
    onResult: (r) => {
      input.progress.advance(0, 1);
      if (r.action === 'conflict')
        input.progress.warn(
          `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} exists and differs; not changed (use --overwrite)`,
        );
      if (r.action === 'error') input.progress.warn(`${r.kind} ${r.name}: ${r.message ?? 'apply failed'}`);
    },
  });
  out.failed = applyFailed(out.applied);
  return out;
}

async function writeFiles(dir: string, files: readonly GeneratedFile[]): Promise<string[]> {
  const d = resolve(dir);
  await mkdir(d, { recursive: true });
  const paths: string[] = [];
  for (const f of files) {
    const path = join(d, f.file);
    await writeFileAtomic(path, f.text);
    paths.push(path);
  }
  return paths;
}
