import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleEntry, BundleVolume } from '../../bundle/index-schema.js';
import type { VolumeCheckpoint } from '../../bundle/volume-writer.js';
import { BaleError } from '../../errors.js';

/** A finished volume as recorded in the journal. */
export interface VolumeRecord extends BundleVolume {
  entryRecords: BundleEntry[];
}

interface JournalFile {
  schema: 'bale.pack-journal/v1';
  fingerprint: string;
  volumes: VolumeRecord[];
  /** The volume being written: its last frame boundary in `<volume>.tmp`. */
  partial?: { name: string; checkpoint: VolumeCheckpoint };
}

/**
 * `.bale/journal.json` in the bundle directory: which volumes of which plan are finished,
 * and how far the volume being written got (its last frame boundary). Written atomically
 * (temp file, rename; fsync too after each volume), so after a crash it names exactly the
 * volumes that are complete on disk. A checkpoint is not fsynced: the writer re-hashes the
 * prefix it names before continuing, and starts the volume over if it does not match.
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
    if (this.data.partial?.name === volume.name) delete this.data.partial;
    await this.save();
  }

  /** The last checkpoint of `name` when it is the volume an earlier run was writing. */
  checkpoint(name: string): VolumeCheckpoint | undefined {
    return this.data.partial?.name === name ? this.data.partial.checkpoint : undefined;
  }

  async recordCheckpoint(name: string, checkpoint: VolumeCheckpoint): Promise<void> {
    this.data.partial = { name, checkpoint };
    await this.save(false);
  }

  async forget(name: string): Promise<void> {
    this.data.volumes = this.data.volumes.filter((v) => v.name !== name);
    await this.save();
  }

  private async save(durable = true): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(this.data));
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
