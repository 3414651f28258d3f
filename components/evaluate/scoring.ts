import { z } from "zod";
import type { gateActionSchema } from "../common/documents/decision.js";
import { parseDocument } from "../common/documents/parse.js";
import { EVALUATION_REPORT_FILE, modelSideObject } from "../common/layout/index.js";
import type { Storage } from "../common/storage/index.js";

/**
 * The evaluation of the model that SCORES the week, which is not always the
 * model this run trained: when the candidate loses the gate the champion
 * scores, and report.html and drift.json must describe the champion (its
 * ROC-AUC, its calibration deciles as the score-drift reference, its churn
 * drivers), not the losing candidate. Its own held-out evaluation is the one
 * promote stored beside its bundle when it was trained
 * (`models/<version>/evaluation-report.json`).
 */

/** The stored evaluation report (report.json of the evaluate step that judged the model). */
export const storedEvaluationSchema = z
  .object({
    rows: z.number(),
    positives: z.number(),
    rocAuc: z.number().nullable(),
    prAuc: z.number().nullable(),
  })
  .passthrough();
export type StoredEvaluation = z.output<typeof storedEvaluationSchema>;

/** Which model the scoring evaluation is about and where its figures come from. */
export const scoringBasisSchema = z.enum([
  /** the candidate promoted this run, on this run's held-out rows */
  "candidate-held-out",
  /** the champion, from the evaluation stored when it was trained */
  "champion-stored",
  /** the champion, only its recorded ROC-AUC (a champion stored before evaluation reports were kept) */
  "champion-recorded",
]);
export type ScoringBasis = z.output<typeof scoringBasisSchema>;

/** scoring-report.json: an evaluation report plus which model it describes. */
export interface ScoringEvaluation extends Record<string, unknown> {
  model_version: string;
  role: "candidate" | "champion";
  basis: ScoringBasis;
  rocAuc: number | null;
  /**
   * The scoring model was refitted on every labelled row after the gate: its
   * figures are those of the same recipe fitted without the held-out rows.
   */
  refit_on_all_rows: boolean;
}

/** The champion's stored evaluation report, or null when it has none (older bundles). */
export async function readStoredEvaluation(
  storage: Storage,
  version: string,
): Promise<StoredEvaluation | null> {
  const name = modelSideObject(version, EVALUATION_REPORT_FILE);
  if (!(await storage.stat(name))) return null;
  return parseDocument(storedEvaluationSchema, await storage.readText(name), name);
}

/** The evaluation of the model that scores the week, given the gate's action. */
export function scoringEvaluation(args: {
  action: z.output<typeof gateActionSchema>;
  candidateVersion: string;
  candidateReport: Record<string, unknown> & { rocAuc: number | null };
  championVersion: string | null;
  championStored: StoredEvaluation | null;
  championRecordedRocAuc: number | null;
  /** The model that scores (the refit of the candidate, or the champion) was refitted on all rows. */
  refitOnAllRows: boolean;
}): ScoringEvaluation {
  const refit_on_all_rows = args.refitOnAllRows;
  if (args.action === "promote" || args.championVersion === null) {
    return {
      ...args.candidateReport,
      model_version: args.candidateVersion,
      role: "candidate",
      basis: "candidate-held-out",
      refit_on_all_rows,
    };
  }
  if (args.championStored) {
    return {
      ...args.championStored,
      model_version: args.championVersion,
      role: "champion",
      basis: "champion-stored",
      refit_on_all_rows,
    };
  }
  return {
    model_version: args.championVersion,
    role: "champion",
    basis: "champion-recorded",
    rocAuc: args.championRecordedRocAuc,
    refit_on_all_rows,
  };
}
