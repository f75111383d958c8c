import { shellCommand } from '../../safe-text.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/** What to do next (every word from the media shell-quoted). */
export function nextSteps(o: UnpackOptions, result: UnpackResult): string[] {
  const steps: string[] = [];
  // Every release of an update path, in order.
  for (const { version: releaseVersion } of result.toDir ? result.releases : []) {
    steps.push(
      shellCommand([
        'oc',
        'image',
        'mirror',
        `--from-dir=${result.toDir!.dir}`,
        `file://openshift/release:${releaseVersion}*`,
        'REGISTRY/REPOSITORY',
      ]),
    );
  }
  if (result.release?.mirror) {
    if (!o.applyManifests && !o.dryRun) {
      steps.push(shellCommand(['oc', 'apply', '-f', result.manifestsDir ?? o.manifestsToDir]));
    }
    // An update path is taken one release at a time, in order.
    for (const r of result.releases) {
      if (r.mirror === undefined) continue;
      steps.push(shellCommand(['oc', 'adm', 'upgrade', '--allow-explicit-upgrade', '--to-image', r.mirror]));
    }
  }
  return steps;
}
