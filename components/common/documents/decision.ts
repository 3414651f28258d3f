import { z } from "zod";

/** A model as the gate names it: family or version, and its held-out ROC-AUC (null: one class only). */
const gateModelSchema = z.strictObject({ name: z.string(), rocAuc: z.number().nullable() });

/**
 * decision.json: the promotion gate's verdict, written by evaluate and acted
 * on by promote (and shown by report, the run record and MLflow).
 */
/** What the gate can decide (DESIGN "Models and champion"). */
export const gateActionSchema = z.enum(["promote", "keep-champion", "refuse"]);

/** Which comparison judged the champion: fresh held-out rows it never trained on, or its recipe refitted on the candidate's folds. */
export const comparisonBasisSchema = z.enum(["fresh-rows", "cv-refit"]);

export const decisionDocumentSchema = z.strictObject({
  /** promote: the candidate becomes champion; keep-champion: the champion stays; refuse: no model to score with. */
  action: gateActionSchema,
  promoted: z.boolean(),
  /** One or two sentences in plain words, for the run record, _FAILED and logs. */
  reason: z.string(),
  candidate: gateModelSchema,
  champion: gateModelSchema.nullable(),
  minRocAuc: z.number(),
  candidate_version: z.string(),
  champion_version: z.string().nullable(),
  holdout_rows: z.int().min(0),
  /**
   * How the champion was compared (issue 17 item 3): on held-out rows it never
   * trained on, or its recipe refitted on the candidate's folds. Absent without a champion.
   */
  comparison: z
    .strictObject({
      basis: comparisonBasisSchema,
      rows: z.int().min(0),
      positives: z.int().min(0),
      fresh_rows: z.int().min(0).nullable(),
      why: z.string(),
    })
    .optional(),
});
export type DecisionDocument = z.output<typeof decisionDocumentSchema>;
