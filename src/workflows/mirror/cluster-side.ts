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
import { generatedObjects } from '../../cluster/generated-objects.js';
import { openClusterApplier } from '../../cluster/apply-reporting.js';
import { BaleError } from '../../errors.js';
import type { Progress } from '../../progress.js';
import { underPrefix, type RegistryTarget } from '../../registry/registry-target.js';
import { signatureConfigMap, signatureConfigMapName } from '../../signature/configmap.js';
import type { KeptSignature } from '../../signature/gather-signatures.js';
import type { PlanEntry } from '../../sets/plan-images.js';

/** Repositories of the release and graph-data: their tags are bale's own, not content referenced by tag. */
const PLATFORM_REPOSITORIES: ReadonlySet<string> = new Set(['openshift/release', 'openshift/graph-data']);

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
  /** Stops the apply between API calls. */
  signal?: AbortSignal;
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
    /** The verified graph-data image: with a release, an UpdateService names both in the mirror. */
    graphDataDigest?: string;
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
  // The IDMS for every image; an ITMS for images outside the release and graph-data
  // repositories that carry tags (--image by tag): src/cluster/generated-objects.ts.
  const generated = generatedObjects({
    repositories: input.images.map((e) => ({
      source: e.source,
      mirror: `${input.target.registry}/${underPrefix(input.target, e.name)}`,
      byTag: e.tags.length > 0 && !PLATFORM_REPOSITORIES.has(e.name),
    })),
    ...(input.releaseDigest !== undefined && input.graphDataDigest !== undefined
      ? {
          updateService: {
            releases: `${input.target.registry}/${underPrefix(input.target, 'openshift/release')}`,
            graphDataImage: `${input.target.registry}/${underPrefix(input.target, 'openshift/graph-data')}@${input.graphDataDigest}`,
          },
        }
      : {}),
  });
  files.push(...generated.map((f) => ({ ...f, signature: false })));
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
  const cluster = await openClusterApplier({
    kubeconfig: o.kubeconfig,
    env: o.env,
    homeDir: o.homeDir,
    overwrite: Boolean(o.overwrite),
    progress: input.progress,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  out.applied = await cluster.apply(toApply, Boolean(o.dryRun));
  out.failed = cluster.failed(out.applied);
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
