import type { ApplyPlan } from '../../cluster/allowed-objects.js';
import type { Progress } from '../../progress.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/** Lists every object with what would happen to it, then applies them. */
export async function applyPlan(
  o: UnpackOptions,
  plan: ApplyPlan,
  result: UnpackResult,
  progress: Progress,
): Promise<void> {
  progress.phase('apply', { items: plan.objects.length });
  const [{ applyFailed, applyObjects }, { loadKubeConfig }] = await Promise.all([
    import('../../cluster/apply.js'),
    import('../../cluster/kube-client.js'),
  ]);
  const { kubeConfig } = await loadKubeConfig({ kubeconfig: o.kubeconfig, env: o.env, homeDir: o.homeDir });
  const preview = await applyObjects(plan.objects, {
    kubeConfig,
    overwrite: Boolean(o.overwrite),
    dryRun: true,
  });
  preview.forEach((r, i) => {
    const what = r.action === 'would-create' ? 'create' : r.action === 'would-update' ? 'update' : r.action;
    progress.info(`to apply: ${plan.sources[i] ?? r.kind}: ${what}`);
  });
  result.applyPlan = preview.map((r, i) => ({ ...r, source: plan.sources[i] ?? '' }));
  if (o.dryRun) {
    result.applied = preview;
  } else {
    result.applied = await applyObjects(plan.objects, {
      kubeConfig,
      overwrite: Boolean(o.overwrite),
      dryRun: false,
      onResult: (r) => {
        progress.advance(0, 1);
        if (r.action === 'conflict')
          progress.warn(
            `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} exists and differs; not changed (use --overwrite)`,
          );
        if (r.action === 'error') progress.warn(`${r.kind} ${r.name}: ${r.message ?? 'apply failed'}`);
      },
    });
  }
  result.conflicts = result.applied.filter((r) => r.action === 'conflict').length;
  result.applyErrors = result.applied.filter((r) => r.action === 'error').length;
  if (applyFailed(result.applied)) result.ok = false;
}
