import type { IdHasher, TrainedIdSet } from "../common/bundle/trained-ids.js";
import type { DecisionDocument } from "../common/documents/decision.js";

/**
 * The fair champion contest (issue 17 item 3): a champion may only be
 * compared with a candidate on rows it never trained on. Since the champion
 * is refitted on every labelled row of its history, those are the held-out
 * rows of customers newer than its training (or whose ids it never saw).
 * When too few exist, the champion's recipe is refitted on the candidate's
 * cross-validation folds instead and the two out-of-fold ROC-AUCs decide.
 * This module holds the rules (which rows, which comparison); evaluate runs
 * the models.
 */

/** A fresh-rows comparison needs at least this many churned customers among the rows (else its ROC-AUC is noise). */
export const MIN_COMPARE_POSITIVES = 30;

/** decision.json's `comparison`: how the champion was judged (its schema is the decision document's). */
export type Comparison = NonNullable<DecisionDocument["comparison"]>;
export type ComparisonBasis = Comparison["basis"];

/** Indices (into `rows`) of the held-out rows whose id is not in the champion's trained set. */
export function freshRows(
  ids: readonly string[],
  rows: ArrayLike<number>,
  trained: TrainedIdSet,
  hasher: IdHasher,
): number[] {
  const fresh: number[] = [];
  for (let k = 0; k < rows.length; k++) {
    if (!trained.has(hasher.hash(ids[rows[k]!]!))) fresh.push(rows[k]!);
  }
  return fresh;
}

/** What the contest can use about the champion's training customers. */
export type TrainedIdsState =
  | { kind: "generated-ids" }
  | { kind: "no-set" }
  | { kind: "other-key" }
  | { kind: "set"; fresh: number[]; positives: number };

/** Whether the fresh rows are enough to compare on, and why (the sentence the decision quotes). */
export function chooseComparison(
  state: TrainedIdsState,
  minRows: number,
): { basis: "fresh-rows" | "cv-refit"; why: string } {
  switch (state.kind) {
    case "generated-ids":
      return {
        basis: "cv-refit",
        why: "ids are generated row numbers (generate_id), so which customers the champion trained on is unknown",
      };
    case "no-set":
      return {
        basis: "cv-refit",
        why: "the champion records no trained customers (stored before they were kept)",
      };
    case "other-key":
      return {
        basis: "cv-refit",
        why: "the champion's trained customers were hashed with another models/_id_key",
      };
    case "set": {
      const n = state.fresh.length;
      if (n >= minRows && state.positives >= MIN_COMPARE_POSITIVES) {
        return {
          basis: "fresh-rows",
          why: `${n} held-out customers (${state.positives} churned) the champion never trained on`,
        };
      }
      return {
        basis: "cv-refit",
        why: `only ${n} held-out customers (${state.positives} churned) are new to the champion, fewer than gate.min_compare_rows ${minRows} with ${MIN_COMPARE_POSITIVES} churned`,
      };
    }
  }
}
