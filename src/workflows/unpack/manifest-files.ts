import { basename, join, resolve } from 'node:path';
import type { VerifyReport } from '../../bundle/verify-bundle.js';
import { planApply, type ApplyPlan } from '../../cluster/allowed-objects.js';
import { BaleError, isBaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import { makeSafeDir, writeFileSafely } from '../../safe-write.js';
import { generatedMirrorConfig, type OutputFile } from './cluster-output.js';
import type { UnpackOptions } from './options.js';
import type { Destination } from './registry-push.js';

/** ConfigMaps and mirror configuration: the verified bytes, never re-read; plus the generated mirror sets. */
export function outputFiles(
  report: VerifyReport,
  dest: Destination | undefined,
  icsp: boolean,
): OutputFile[] {
  const files: OutputFile[] = (report.clusterFiles ?? [])
    .filter((f) => f.listed)
    .map((f) => ({
      file: basename(f.path),
      source: f.path,
      text: f.text,
      objects: f.kubeObjects,
      verifiedSignatures: f.verifiedSignatures,
      generated: false,
    }));
  if (dest && report.index) files.push(...generatedMirrorConfig(report.index, dest, icsp));
  return files;
}

/** What may be applied, decided before any manifest is pushed: a refusal changes nothing visible. */
export function applyPlanFor(files: OutputFile[], o: UnpackOptions, indexSigned: boolean): ApplyPlan {
  return planApply(
    files.map((f) => ({
      file: f.source,
      objects: f.objects,
      verifiedSignatures: f.verifiedSignatures,
      generated: f.generated,
    })),
    {
      applyManifests: Boolean(o.applyManifests),
      applySignatures: Boolean(o.applyReleaseImageSignature),
      indexSigned,
    },
  );
}

/** Writes the files into --manifests-to-dir (confined, temp name + rename); returns the paths. */
export async function writeManifestFiles(
  manifestsToDir: string,
  files: OutputFile[],
): Promise<{ dir: string; paths: string[] }> {
  const mdir = resolve(manifestsToDir);
  await makeSafeDir(mdir).catch((err: NodeJS.ErrnoException) => {
    throw isBaleError(err) ? err : ioError(err, mdir);
  });
  const names = new Set<string>();
  const paths: string[] = [];
  for (const f of files) {
    if (names.has(f.file)) {
      throw new BaleError('E_BUNDLE_INVALID', `two manifests would be written as ${f.file}`, {
        hint: 'The bundle lists two files of the same name; this is not a bundle bale wrote.',
      });
    }
    names.add(f.file);
    const path = await writeFileSafely(mdir, f.file, f.text).catch((err: NodeJS.ErrnoException) => {
      throw isBaleError(err) ? err : ioError(err, join(mdir, f.file));
    });
    paths.push(path);
  }
  return { dir: mdir, paths };
}
