import { shellCommand } from '../../safe-text.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/** What to do next (every word from the media shell-quoted). */
export function nextSteps(
  o: UnpackOptions,
  result: UnpackResult,
  releaseVersion: string | undefined,
): string[] {
  const steps: string[] = [];
  if (result.toDir && releaseVersion !== undefined) {
    steps.push(
      shellCommand([
        'oc',
        'image',
        'mirror',
        `--from-dir=${result.toDir.dir}`,
        `file://openshift/release:${releaseVersion}*`,
        'REGISTRY/REPOSITORY',
      ]),
    );
  }
  if (result.release?.mirror) {
    if (!o.applyManifests && !o.dryRun) {
      steps.push(shellCommand(['oc', 'apply', '-f', result.manifestsDir ?? o.manifestsToDir]));
    }
    steps.push(
      shellCommand(['oc', 'adm', 'upgrade', '--allow-explicit-upgrade', '--to-image', result.release.mirror]),
    );
  }
  return steps;
}
