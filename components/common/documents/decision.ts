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

/**
 * What a run's decision amounts to, for people: `first` (a first champion),
 * `replaced` (a new champion), `kept` (the champion stays, the candidate
 * lost), `itself` (the candidate is the champion: same rows and settings),
 * `refused` (no model to score with).
 */
export const decisionOutcomeSchema = z.enum(["first", "replaced", "kept", "itself", "refused"]);

/** The decision as every surface says it (promotion.json, summary.json, the report, the closing lines). */
export const decisionLineSchema = z.strictObject({
  outcome: decisionOutcomeSchema,
  /** The sentence, without the closing lines' `model: `. */
  text: z.string(),
  /** The run whose evaluate step decided, when this run reused it from the cache; else null. */
  decided_by: z.string().nullable(),
});
export type DecisionLine = z.output<typeof decisionLineSchema>;

/**
 * The one rule that turns the gate's stored decision into what a run says
 * (issue 18 item 9). decision.json is a cached artifact: a re-run with the
 * same rows and settings reproduces the champion itself, which evaluate
 * leaves out (comparing a model with itself decides nothing), so the stored
 * sentence says "there was no champion"; and a cache hit repeats the
 * sentence of the run that decided. `previousChampion` (the pointer before
 * this run's promote acted) and `stored` (the version promote stored) tell
 * the first case; `decidedBy` the second.
 */
export function decisionLine(input: {
  decision: DecisionDocument;
  previousChampion: string | null;
  stored: string;
  decidedBy: string | null;
}): DecisionLine {
  const { decision, previousChampion, stored, decidedBy } = input;
  if (decision.action === "promote" && decision.champion_version === null && previousChampion === stored)
    return {
      outcome: "itself",
      text: `champion ${stored} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`,
      decided_by: decidedBy,
    };
  const outcome =
    decision.action === "refuse"
      ? "refused"
      : decision.action === "keep-champion"
        ? "kept"
        : previousChampion === null
          ? "first"
          : "replaced";
  const reused = decidedBy ? ` (decided by run ${decidedBy}; this run reused its evaluate step)` : "";
  return { outcome, text: `${decision.reason}${reused}`, decided_by: decidedBy };
}
