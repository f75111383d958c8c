import type { ApplyPlan } from '../../cluster/allowed-objects.js';
import { openClusterApplier } from '../../cluster/apply-reporting.js';
import type { Progress } from '../../progress.js';
import type { UnpackOptions, UnpackResult } from './options.js';

/** Lists every object with what would happen to it (a server-side dry run), then applies them. */
export async function applyPlan(
  o: UnpackOptions,
  plan: ApplyPlan,
  result: UnpackResult,
  progress: Progress,
): Promise<void> {
  progress.phase('apply', { items: plan.objects.length });
  const cluster = await openClusterApplier({
    kubeconfig: o.kubeconfig,
    env: o.env,
    homeDir: o.homeDir,
    overwrite: Boolean(o.overwrite),
    progress,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const preview = await cluster.preview(plan.objects);
  preview.forEach((r, i) => {
    const what = r.action === 'would-create' ? 'create' : r.action === 'would-update' ? 'update' : r.action;
    progress.info(`to apply: ${plan.sources[i] ?? r.kind}: ${what}`);
  });
  result.applyPlan = preview.map((r, i) => ({ ...r, source: plan.sources[i] ?? '' }));
  result.applied = o.dryRun ? preview : await cluster.apply(plan.objects);
  result.conflicts = result.applied.filter((r) => r.action === 'conflict').length;
  result.applyErrors = result.applied.filter((r) => r.action === 'error').length;
  if (cluster.failed(result.applied)) result.ok = false;
}
