import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleEntry, BundleVolume } from '../../bundle/index-schema.js';
import { BaleError } from '../../errors.js';

/** A finished volume as recorded in the journal. */
export interface VolumeRecord extends BundleVolume {
  entryRecords: BundleEntry[];
}

interface JournalFile {
  schema: 'bale.pack-journal/v1';
  fingerprint: string;
  volumes: VolumeRecord[];
}

/**
 * `.bale/journal.json` in the bundle directory: which volumes of which plan are finished.
 * Written atomically (temp file, fsync, rename) after each volume, so after a crash it
 * names exactly the volumes that are complete on disk.
 */
export class PackJournal {
  private constructor(
    private readonly path: string,
    private readonly data: JournalFile,
  ) {}

  static async open(stateDir: string, fingerprint: string): Promise<PackJournal> {
    const path = join(stateDir, 'journal.json');
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      return new PackJournal(path, { schema: 'bale.pack-journal/v1', fingerprint, volumes: [] });
    }
    let data: JournalFile;
    try {
      data = JSON.parse(text) as JournalFile;
    } catch {
      // A torn journal cannot happen with rename, but a damaged disk can: start the volumes over.
      return new PackJournal(path, { schema: 'bale.pack-journal/v1', fingerprint, volumes: [] });
    }
    if (data.fingerprint !== fingerprint) {
      throw new BaleError('E_CONFIG', 'the bundle directory holds an interrupted pack of different content', {
        hint: 'The release, its signatures, the images or --volume-size differ from the interrupted run. Pack into a new directory, or delete this one.',
      });
    }
    return new PackJournal(path, data);
  }

  finished(name: string): VolumeRecord | undefined {
    return this.data.volumes.find((v) => v.name === name);
  }

  async record(volume: VolumeRecord): Promise<void> {
    this.data.volumes = [...this.data.volumes.filter((v) => v.name !== volume.name), volume];
    await this.save();
  }

  async forget(name: string): Promise<void> {
    this.data.volumes = this.data.volumes.filter((v) => v.name !== name);
    await this.save();
  }

  private async save(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(this.data));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
