/**
 * Applying generated and verified objects with progress, shared by `unpack` and `bale
 * mirror`: the kubeconfig is resolved once, each result advances the progress, a
 * conflict or an error is said as a warning. The Kubernetes client is large (hundreds of
 * modules): it is loaded only when something is applied.
 */
import type { ApplyResult } from './apply.js';
import type { KubeObject } from './kube-object.js';
import type { Progress } from '../progress.js';

export interface ApplyReportingOptions {
  kubeconfig?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
  overwrite: boolean;
  progress: Progress;
  /** Stops the run between API calls (see ApplyOptions.signal). */
  signal?: AbortSignal;
}

export interface ClusterApplier {
  /** Server-side dry run: what applying would do, changing nothing. */
  preview(objects: KubeObject[]): Promise<ApplyResult[]>;
  apply(objects: KubeObject[], dryRun?: boolean): Promise<ApplyResult[]>;
  failed(results: readonly ApplyResult[]): boolean;
}

export async function openClusterApplier(o: ApplyReportingOptions): Promise<ClusterApplier> {
  const [{ applyFailed, applyObjects }, { loadKubeConfig }] = await Promise.all([
    import('./apply.js'),
    import('./kube-client.js'),
  ]);
  const { kubeConfig } = await loadKubeConfig({ kubeconfig: o.kubeconfig, env: o.env, homeDir: o.homeDir });
  return {
    preview: (objects) =>
      applyObjects(objects, {
        kubeConfig,
        overwrite: o.overwrite,
        dryRun: true,
        ...(o.signal ? { signal: o.signal } : {}),
      }),
    apply: (objects, dryRun = false) =>
      applyObjects(objects, {
        kubeConfig,
        overwrite: o.overwrite,
        dryRun,
        ...(o.signal ? { signal: o.signal } : {}),
        onResult: (r) => {
          o.progress.advance(0, 1);
          if (r.action === 'conflict') {
            o.progress.warn(
              `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} exists and differs; not changed (use --overwrite)`,
            );
          }
          if (r.action === 'error') o.progress.warn(`${r.kind} ${r.name}: ${r.message ?? 'apply failed'}`);
        },
      }),
    failed: applyFailed,
  };
}
