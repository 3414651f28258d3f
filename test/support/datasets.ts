import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "vitest";

/**
 * The one place tests and benchmarks find the shared data sets: `../shared/datasets`
 * beside the repository root (DESIGN: never copied into the repository, never found by
 * an absolute path).
 */
export const DATASETS_ROOT = resolve(import.meta.dirname, "..", "..", "..", "shared", "datasets");

/** The path of a file of the shared data sets, e.g. `datasetPath("cdnow", "CDNOW_master.txt")`. */
export function datasetPath(...parts: string[]): string {
  return join(DATASETS_ROOT, ...parts);
}

/** True when every named file of the shared data sets is present. */
export function hasDatasets(...files: string[]): boolean {
  return files.every((file) => existsSync(datasetPath(file)));
}

/** Why a data-set suite cannot run, or null when every file it needs is there. */
export function missingDatasets(files: readonly string[]): string | null {
  const missing = files.filter((file) => !existsSync(datasetPath(file)));
  return missing.length === 0 ? null : `missing under ${DATASETS_ROOT}: ${missing.join(", ")}`;
}

/**
 * A suite over the shared data sets. Without its files it is skipped with a
 * warning on a developer's machine, and FAILS under CI (`CI` set): CI has
 * `../shared` beside the clone, so a missing file there means a moved data
 * set or a wrong path, and a silently skipped suite would pass CI green.
 */
export function describeDatasets(name: string, files: readonly string[], body: () => void): void {
  const problem = missingDatasets(files);
  if (problem === null) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it("has its data sets", () => {
        throw new Error(`${name}: ${problem}; CI must run this suite (../shared/datasets beside the clone)`);
      });
    });
    return;
  }
  console.warn(`${name}: skipped, ${problem}`);
  describe.skip(name, body);
}
