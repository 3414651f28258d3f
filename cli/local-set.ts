import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { type Manifest, parseManifest } from "../components/common/documents/manifest.js";
import { InputError } from "../components/common/errors.js";
import { OUTPUT_FILES } from "../components/common/layout/index.js";

/**
 * A published set copied into a local folder with the bucket's own rule, so
 * the folder never presents a mix: each attempt downloads into a hidden
 * staging folder inside the destination (same filesystem, so renames are
 * atomic); only a verified set is moved in, with the destination's
 * `_SUCCESS` removed first and written last. A script reading the folder
 * checks `_SUCCESS` as it would in the bucket; a failed or interrupted pull
 * leaves the previous set (and its `_SUCCESS`) or no `_SUCCESS` at all.
 */
export class LocalSetStage {
  private staging: string | null = null;

  constructor(readonly dest: string) {}

  /** Where one downloaded file goes (the staging folder is made on first use, so an empty pull creates nothing). */
  async writable(name: string): Promise<Writable> {
    return createWriteStream(join(await this.folder(), name));
  }

  private async folder(): Promise<string> {
    if (this.staging === null) {
      await mkdir(this.dest, { recursive: true });
      this.staging = await mkdtemp(join(this.dest, ".churn-pull-"));
    }
    return this.staging;
  }

  /** Move a verified set in: `_SUCCESS` out, the files in, files of the previous set that are not in this one out, `_SUCCESS` in. */
  async install(manifest: Manifest, manifestText: string): Promise<void> {
    const staging = await this.folder();
    await writeFile(join(staging, OUTPUT_FILES.success), manifestText);
    const previous = await this.previousManifest();
    await rm(join(this.dest, OUTPUT_FILES.success), { force: true });
    for (const file of manifest.files) await rename(join(staging, file.name), join(this.dest, file.name));
    const current = new Set(manifest.files.map((f) => f.name));
    for (const file of previous?.files ?? [])
      if (!current.has(file.name)) await rm(join(this.dest, file.name), { force: true });
    await rename(join(staging, OUTPUT_FILES.success), join(this.dest, OUTPUT_FILES.success));
  }

  /** The manifest of the set a previous pull left here, or null (none, or not one of ours). */
  private async previousManifest(): Promise<Manifest | null> {
    let text: string;
    try {
      text = await readFile(join(this.dest, OUTPUT_FILES.success), "utf8");
    } catch {
      return null;
    }
    try {
      return parseManifest(text, join(this.dest, OUTPUT_FILES.success));
    } catch (error) {
      if (error instanceof InputError) return null;
      throw error;
    }
  }

  /** Remove what this attempt downloaded (after an install, only the empty staging folder is left). */
  async discard(): Promise<void> {
    if (this.staging !== null) await rm(this.staging, { recursive: true, force: true });
    this.staging = null;
  }
}
