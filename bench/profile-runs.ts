/** `--profile`: one more pack, verify and unpack under `node --cpu-prof`, summarised. */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Args } from './bench-args.js';
import { BALE_BIN, flush } from './bench-tools.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './cpu-profile.js';
import { timed } from './measure.js';
import type { SourceRelease } from './source-release.js';
import { startRegistryProcess } from '../fixtures/registry-process.js';

/** One more pack, verify and unpack, each under `node --cpu-prof`, summarised. */
export async function profileRuns(
  src: SourceRelease,
  dir: string,
  repDir: string,
  env: { bale: Record<string, string> },
  scratch: string,
  keyring: string,
  args: Args,
): Promise<Record<string, ProfileSummary>> {
  const profDir = join(dir, 'profiles');
  await mkdir(profDir, { recursive: true });
  const out: Record<string, ProfileSummary> = {};
  const one = async (name: string, baleArgs: string[]): Promise<void> => {
    const d = join(profDir, name);
    await mkdir(d);
    flush();
    const s = await timed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', d, BALE_BIN, ...baleArgs], {
      env: env.bale,
      scratch,
    });
    const file = (await readdir(d)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written for ${name}`);
    const summary = await summariseProfile(join(d, file));
    out[name] = summary;
    process.stdout.write(
      `\n${formatProfile(`bale ${name} (profiled run: ${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, ${s.maxRssMiB.toFixed(0)} MiB RSS)`, summary)}\n`,
    );
  };
  const bundle = join(dir, 'profile-bundle');
  if (args.only.has('pack'))
    await one('pack', [...src.packArgs, ...args.packExtra, '--to', bundle, '--quiet']);
  const existing = args.only.has('pack') ? bundle : join(repDir, 'bundle');
  if (args.only.has('verify'))
    await one('verify', ['verify', existing, '--keyring', keyring, '--allow-unsigned', '--quiet']);
  if (args.only.has('unpack')) {
    const dest = await startRegistryProcess({ parentDir: dir });
    try {
      await one('unpack', [
        'unpack',
        existing,
        '--to',
        `${dest.host}/mirror`,
        '--keyring',
        keyring,
        '--allow-unsigned',
        '--manifests-to-dir',
        join(dir, 'prof-manifests'),
        '--quiet',
      ]);
    } finally {
      await dest.stop();
    }
  }
  return out;
}
