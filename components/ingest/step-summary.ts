import type { IngestSummary } from "./summary.js";
import type { IngestResult } from "./types.js";

/** One file of the ingest summary. */
export type IngestFileSummary = IngestSummary["files"][number];

/** What output.json and the CLI show of one ingested file (the first five rejects only). */
export function fileSummary(object: string, result: IngestResult): IngestFileSummary {
  return {
    object,
    rowsIn: result.rowsIn,
    accepted: result.accepted,
    rejected: result.rejected,
    reasons: result.reasons,
    firstRejects: result.firstRejects.slice(0, 5),
    format: result.format,
    ignoredColumns: result.ignoredColumns,
  };
}

/** The step's counts over all its files (the run record's). */
export function totalsOf(files: readonly IngestFileSummary[]): {
  rowsIn: number;
  accepted: number;
  rejected: number;
} {
  return files.reduce(
    (t, f) => ({
      rowsIn: t.rowsIn + f.rowsIn,
      accepted: t.accepted + f.accepted,
      rejected: t.rejected + f.rejected,
    }),
    { rowsIn: 0, accepted: 0, rejected: 0 },
  );
}

/**
 * profile.json: the last file's profile (its schema is the one in effect),
 * with the rows of every file when there were several, and the unseen
 * categories when scoring.
 */
export function stepProfile(
  results: readonly IngestResult[],
  mode: "training" | "scoring",
): Record<string, unknown> {
  const last = results.at(-1);
  if (!last) throw new Error("ingest: no file was read");
  const unseen = results.flatMap((r) => r.unseenCategories);
  return {
    ...(results.length === 1
      ? last.profile
      : { ...last.profile, files: results.map((r) => ({ object: r.source, rows: r.profile.rows })) }),
    ...(mode === "scoring" ? { unseenCategories: unseen } : {}),
  };
}
