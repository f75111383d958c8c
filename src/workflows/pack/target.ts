import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleEntry } from '../../bundle/index-schema.js';
import type { VolumePlan } from '../../bundle/plan.js';
import { openBundle } from '../../bundle/open-bundle.js';
import { expectedEntries } from '../../bundle/expected-entries.js';
import { BaleError } from '../../errors.js';
import { ioError } from '../../io-error.js';
import type { PackJournal } from './pack-journal.js';
import { STATE_DIR } from './types.js';

/** Temporary files pack writes beside the bundle (renamed into place once complete). */
const TEMP_FILE = /^(volume-\d{3,}\.tar\.zst|bundle\.json|bundle\.json\.asc|SHA256SUMS)\.tmp$/;
const VOLUME_TEMP = /^volume-\d{3,}\.tar\.zst\.tmp$/;

/**
 * An interrupted pack (we hold the lock): drop the temporary files it may have left. A
 * volume being written stays unless `volumesToo`: the writer continues it from its last
 * journaled frame boundary (or rewrites it).
 */
export async function removeTempFiles(to: string, volumesToo = false): Promise<void> {
  for (const name of await readdir(to)) {
    if (TEMP_FILE.test(name) && (volumesToo || !VOLUME_TEMP.test(name)))
      await rm(join(to, name), { force: true });
  }
}

/**
 * After a failure: when nothing was staged and no volume written, leave no state behind
 * (and no directory, if this pack made it). rmdir only removes empty directories, so
 * anything worth resuming stays.
 */
export async function removeIfUnused(to: string, stateDir: string, created: boolean): Promise<void> {
  try {
    await rmdir(join(stateDir, 'blobs'));
    await rmdir(stateDir);
    if (created) await rmdir(to);
  } catch {
    // Something is there: keep it for the next run.
  }
}

/** A finished bundle at the target may be adopted only by a run that signs it the same way. */
export async function checkFinishedSigning(to: string, signs: boolean): Promise<void> {
  const signed = await stat(join(to, 'bundle.json.asc')).then(
    () => true,
    () => false,
  );
  if (signed !== signs) {
    throw new BaleError(
      'E_CONFIG',
      `${to} already holds a finished bundle of other content (${signed ? 'signed' : 'not signed'})`,
      {
        hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
      },
    );
  }
}

/**
 * The target already holds a finished bundle. If its index describes exactly the bundle
 * this plan writes (same volumes, same entries, sizes and digests), its volumes are
 * handed to the journal as finished: the usual resume path then re-checks each volume's
 * sha256, keeps the intact ones and rewrites the rest. Other content is refused.
 */
export async function adoptFinishedBundle(to: string, plan: VolumePlan, journal: PackJournal): Promise<void> {
  const refuse = (why: string) =>
    new BaleError('E_CONFIG', `${to} already holds a finished bundle of other content (${why})`, {
      hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
    });
  const existing = (await openBundle(to).catch(() => undefined))?.index;
  if (!existing) throw refuse('its bundle.json does not read or does not match SHA256SUMS');
  if (existing.volumeSize !== plan.volumeSize) throw refuse('another --volume-size');
  if (existing.volumes.length !== plan.volumes.length) throw refuse('another number of volumes');
  for (const [i, vol] of plan.volumes.entries()) {
    const have = existing.volumes[i];
    if (have?.name !== vol.name) throw refuse(`no ${vol.name}`);
    const entries = expectedEntries(existing, vol.name);
    if (entries.length !== vol.entries.length) throw refuse(`${vol.name} holds other entries`);
    const records: BundleEntry[] = [];
    for (const [j, want] of vol.entries.entries()) {
      const got = entries[j];
      if (
        got?.path !== want.path ||
        got.type !== want.type ||
        got.size !== want.size ||
        got.linkTarget !== want.linkTarget ||
        (want.sha256 !== undefined && got.sha256 !== want.sha256)
      ) {
        throw refuse(`${vol.name}: ${want.path} differs`);
      }
      const rec: BundleEntry = { path: got.path, type: got.type, size: got.size, volume: vol.name };
      if (got.sha256 !== undefined) rec.sha256 = got.sha256;
      if (got.linkTarget !== undefined) rec.linkTarget = got.linkTarget;
      records.push(rec);
    }
    if (!journal.finished(vol.name)) {
      await journal.record({
        name: have.name,
        size: have.size,
        sha256: have.sha256,
        entries: have.entries,
        entryRecords: records,
      });
    }
  }
}

/**
 * The target is new, empty, or an interrupted pack (it has .bale/). Anything else is
 * refused. Returns whether the directory did not exist before.
 */
export async function prepareTarget(to: string): Promise<{ created: boolean; finished: boolean }> {
  const existed = await stat(to).then(
    () => true,
    () => false,
  );
  await mkdir(to, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw ioError(err, to);
  });
  const names = await readdir(to);
  if (names.length === 0 || names.includes(STATE_DIR)) return { created: !existed, finished: false };
  // A finished bundle: the same command run again (say, after a crash just as it ended)
  // checks it against its plan and keeps it; other content is refused once planned.
  if (names.includes('bundle.json') && names.includes('SHA256SUMS'))
    return { created: false, finished: true };
  if (names.includes('bundle.json')) {
    throw new BaleError('E_CONFIG', `${to} already holds a bundle that is not finished by bale`, {
      hint: 'Pack into a new directory (or delete this bundle first). Use bale verify to check the existing one.',
    });
  }
  throw new BaleError('E_CONFIG', `${to} is not empty and holds no bale bundle`, {
    hint: 'Choose an empty or new directory for --to; bale never mixes a bundle with other files.',
  });
}
