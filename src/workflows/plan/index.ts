/**
 * `bale plan`: a dry run that changes nothing (the plan itself is the building block
 * src/sets/plan-images.ts, shared with `bale mirror`). For the image set `bale pack` would carry
 * (M, read from the source, which gives S) and a destination given live (`--to`) or as
 * a snapshot file (`--have`, giving D), the promoter's three sets with sizes, the blobs
 * a bundle would carry (each once; none the destination holds through a present
 * image), the disk space that bundle would need, and the `src=dst` mapping.
 */
import { abortable } from '../../abortable.js';
import { BaleError } from '../../errors.js';
import { silentProgress } from '../../progress.js';
import { closeClients, registryClients } from '../../registry/client-factory.js';
import { parseRegistryTarget } from '../../registry/registry-target.js';
import { planWith, type PlanOptions, type PlanResult } from '../../sets/plan-images.js';

export type { PlanEntry, PlanOptions, PlanResult } from '../../sets/plan-images.js';

export async function plan(o: PlanOptions): Promise<PlanResult> {
  if (o.to === undefined && o.have === undefined) {
    throw new BaleError(
      'E_USAGE',
      'name the destination: --to REGISTRY[/PREFIX] (live) or --have FILE (a snapshot)',
      {
        hint: 'Make a snapshot inside the air gap with bale snapshot, carry it out, and pass it with --have.',
      },
    );
  }
  const target = o.to !== undefined ? parseRegistryTarget(o.to, '--to') : undefined;
  const progress = o.progress ?? silentProgress;
  const clientFor = await registryClients(o, progress);
  const src = clientFor(o.srcTlsVerify);
  const dst = o.have === undefined ? clientFor(o.destTlsVerify) : undefined;
  try {
    return await abortable(planWith(o, src, dst, target, progress), o.signal);
  } finally {
    await closeClients([src, dst], o.signal);
  }
}
