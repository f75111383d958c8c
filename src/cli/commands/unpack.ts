import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultStateDir } from '../../workflows/unpack/upload-state.js';
import {
  bundleDirArgument,
  bundleTrustOptions,
  kubeconfigOption,
  lockOwner,
  registryOptions,
  renderer,
  sigstoreKeyOption,
  stringList,
  writeJson,
} from '../common.js';
import { formatBytes, formatDuration } from '../format.js';
import { assertBundleDir } from './verify.js';
import { safeText } from '../safe-text.js';
import type { Command } from './types.js';

/** The default state directory, when the home directory exists (never created from nothing). */
async function defaultStateDirIfHome(
  env: Record<string, string | undefined>,
  homeDir: string,
): Promise<string | undefined> {
  const home = await stat(homeDir).catch(() => undefined);
  return home?.isDirectory() ? defaultStateDir(env, homeDir) : undefined;
}

export const unpackCommand: Command = {
  command: 'unpack <bundle-dir>',
  describe: 'Verify a bundle, push it to a mirror registry and/or a directory, write and apply the manifests',
  builder: (y) =>
    bundleDirArgument(y.options(registryOptions('dest')).options(sigstoreKeyOption))
      .option('to', { type: 'string', description: 'Mirror registry, <registry>[/<prefix>]' })
      .option('to-dir', {
        type: 'string',
        description: "Write oc's v2/ mirror layout (for oc image mirror --from-dir) here",
      })
      .option('base-dir', {
        type: 'string',
        description:
          'Incremental bundle with --to-dir: where its base was unpacked (may be the --to-dir itself); checked, then copied from',
      })
      .option('manifests-to-dir', {
        type: 'string',
        description:
          'Where to write the signature ConfigMaps and mirror configuration (default: ./bale-manifests)',
      })
      .options(
        bundleTrustOptions('Unpack content no signature anchors (said in the output) instead of refusing'),
      )
      .option('verify-first', {
        type: 'boolean',
        description:
          'Verify the whole bundle before sending anything (reads the media twice). Default: blobs go up while the volumes are verified; manifests and tags only once everything verified',
      })
      .option('state-dir', {
        type: 'string',
        description:
          'Where to record open upload sessions so an interrupted unpack continues them (default: $XDG_STATE_HOME/bale/unpack, else ~/.local/state/bale/unpack)',
      })
      .option('apply-release-image-signature', {
        type: 'boolean',
        description: 'Apply the signature ConfigMaps to the cluster',
      })
      .option('apply-manifests', {
        type: 'boolean',
        description: 'Apply the ConfigMaps and the mirror configuration to the cluster',
      })
      .option('icsp', {
        type: 'boolean',
        description: 'Also write an ImageContentSourcePolicy (clusters before 4.13)',
      })
      .option('overwrite', {
        type: 'boolean',
        description:
          'Update cluster objects that exist and differ; re-point mirror tags that name another digest',
      })
      .option('dry-run', {
        type: 'boolean',
        description: 'Verify, then show what would be pushed and applied; change nothing',
      })
      .options(kubeconfigOption)
      .example('$0 unpack /media/usb/bale --to mirror.example.com:5000/ocp4', 'Push into the mirror registry')
      .example(
        '$0 unpack /media/usb/bale --to mirror.example.com:5000/ocp4 --apply-manifests',
        'Push, then apply the signature and mirror configuration',
      )
      .example('$0 unpack /media/usb/bale --to-dir /srv/mirror', "Write oc's directory layout")
      .example(
        '$0 unpack /media/usb/bale --to mirror.example.com:5000/ocp4 --dry-run',
        'See what would happen',
      ),
  handler: async (args, ctx) => {
    const dir = String(args['bundle-dir']);
    await assertBundleDir(dir);
    const progress = renderer(args, ctx);
    const manifestsToDir =
      (args['manifests-to-dir'] as string | undefined) ?? resolve(ctx.cwd, 'bale-manifests');
    const result = await (
      await import('../../workflows/unpack/index.js')
    ).unpack({
      bundleDir: dir,
      to: args.to as string | undefined,
      toDir: args['to-dir'] as string | undefined,
      baseDir: args['base-dir'] as string | undefined,
      manifestsToDir,
      keyrings: stringList(args.keyring),
      sigstoreKeys: stringList(args['sigstore-key']),
      indexKeyrings: stringList(args['index-keyring']),
      allowUnsigned: Boolean(args['allow-unsigned']),
      verifyFirst: Boolean(args['verify-first']),
      stateDir:
        (args['state-dir'] as string | undefined) ?? (await defaultStateDirIfHome(ctx.env, ctx.homeDir)),
      registryConfig: args['registry-config'] as string | undefined,
      destTlsVerify: args['dest-tls-verify'] as boolean,
      caFile: args['ca-file'] as string | undefined,
      applyReleaseImageSignature: Boolean(args['apply-release-image-signature']),
      applyManifests: Boolean(args['apply-manifests']),
      icsp: Boolean(args.icsp),
      overwrite: Boolean(args.overwrite),
      dryRun: Boolean(args['dry-run']),
      kubeconfig: args.kubeconfig as string | undefined,
      concurrency: args.concurrency as number,
      env: ctx.env,
      homeDir: ctx.homeDir,
      progress,
      signal: ctx.signal,
      lockOwner: lockOwner(),
    });
    progress.stop();
    const code = result.ok ? 0 : 1;
    const out: string[] = [];
    const finish = (): void => {
      ctx.stdout.write(`${out.map(safeText).join('\n')}\n`);
    };
    if (args.json) {
      writeJson(ctx, result);
      return code;
    }
    const rels = result.releases;
    const what =
      rels.length === 1
        ? `OpenShift ${rels[0]!.version} ${rels[0]!.digest}`
        : rels.length > 1
          ? `OpenShift ${rels.map((r) => r.version).join(', ')} (${rels.length} releases)`
          : 'bundle';
    out.push(`${result.dryRun ? 'Dry run: verified' : 'Unpacked'} ${what} from ${dir}`);
    if (result.trust) {
      const t = result.trust;
      out.push(
        `  trust: bundle.json ${t.index.state === 'signed' ? `signed by key ${t.index.keyId ?? '?'}` : t.index.state === 'not-checked' ? 'signature not checked (no --index-keyring)' : 'not signed'}; ${t.unanchored === 0 ? 'everything anchored to a verified signature' : `${t.unanchored} unsigned item(s) accepted with --allow-unsigned`}`,
      );
    }
    const p = result.push;
    if (p?.base) {
      out.push(
        `  base: all ${p.base.present} blob(s) the bundle relies on are in ${p.registry}${p.base.mounted ? `; ${p.base.mounted} mounted into the repositories that need them` : ''}`,
      );
    }
    if (p) {
      if (result.dryRun) {
        for (const img of p.images) {
          const state = img.manifestPresent
            ? 'already present'
            : `to push: ${img.blobsToPush} blob(s), ${formatBytes(img.bytesToPush)}${img.blobsPresent ? ` (${img.blobsPresent} blob(s) already there)` : ''}, then the manifest`;
          out.push(`  ${img.destination}@${img.digest} (${img.tags.join(', ')}): ${state}`);
        }
      } else {
        out.push(
          `  ${p.registry}: ${p.blobsUploaded} blob(s) uploaded (${formatBytes(p.bytesUploaded)}), ${p.blobsMounted} mounted, ${p.blobsPresent} already there; ${p.manifestsPushed} manifest(s) and ${p.tagsPushed} tag(s) pushed, ${p.manifestsPresent + p.tagsPresent} already there; ${p.retries} retries`,
        );
      }
    }
    if (result.toDir) {
      out.push(
        `  ${result.toDir.dir}: ${result.toDir.filesWritten} file(s) written (${formatBytes(result.toDir.bytesWritten)}), ${result.toDir.filesPresent} already there`,
      );
      const b = result.toDir.base;
      if (b) out.push(`  base: ${b.copied} blob(s) copied from --base-dir, ${b.present} already there`);
    }
    if (result.manifestsDir)
      out.push(
        `  manifests written to ${result.manifestsDir}: ${result.manifestFiles.map((f) => f.slice(f.lastIndexOf('/') + 1)).join(', ')}`,
      );
    for (const a of result.applied) {
      out.push(
        `  ${a.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}: ${a.action}${a.message ? ` (${a.message})` : ''}`,
      );
    }
    if (result.conflicts)
      out.push(
        `  ${result.conflicts} object(s) differ on the cluster and were left alone; re-run with --overwrite to update them`,
      );
    out.push(`  in ${formatDuration(result.durationMs)}`);
    if (result.nextSteps.length) {
      out.push('Next steps:');
      for (const s of result.nextSteps) out.push(`  ${s}`);
    }
    finish();
    return code;
  },
};
