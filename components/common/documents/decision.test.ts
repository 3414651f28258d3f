import { describe, expect, it } from "vitest";
import { type DecisionDocument, decisionLine } from "./decision.js";

// The one rule for what a run says about the gate's decision (issue 18 item 9).
const doc = (
  action: DecisionDocument["action"],
  championVersion: string | null,
  reason: string,
): DecisionDocument => ({
  action,
  promoted: action === "promote",
  reason,
  candidate: { name: "gbdt (held-out)", rocAuc: 0.9 },
  champion: championVersion ? { name: `champion ${championVersion}`, rocAuc: 0.85 } : null,
  minRocAuc: 0.8,
  candidate_version: "c".repeat(16),
  champion_version: championVersion,
  holdout_rows: 400,
});
const STORED = "f".repeat(16);
const OLD = "0".repeat(16);
const NO_CHAMPION =
  "gbdt (held-out) promoted: ROC-AUC 0.9000 reaches the gate's 0.8 and there was no champion.";

describe("decisionLine", () => {
  it.each([
    ["a first champion", doc("promote", null, NO_CHAMPION), null, null, "first", NO_CHAMPION],
    [
      "a re-run whose candidate is the champion itself",
      doc("promote", null, NO_CHAMPION),
      STORED,
      null,
      "itself",
      `champion ${STORED} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`,
    ],
    [
      "the same, with evaluate from the cache: nothing was decided, so no run is named",
      doc("promote", null, NO_CHAMPION),
      STORED,
      "r-0123456789abcdef",
      "itself",
      `champion ${STORED} stays: this run's candidate is the champion itself (same training rows and settings), so there was no other model to judge.`,
    ],
    [
      "a new champion",
      doc("promote", OLD, "gbdt promoted: better."),
      OLD,
      null,
      "replaced",
      "gbdt promoted: better.",
    ],
    [
      "the champion stays, decided by an earlier run",
      doc("keep-champion", OLD, `Champion ${OLD} stays: better.`),
      OLD,
      "r-0123456789abcdef",
      "kept",
      `Champion ${OLD} stays: better. (decided by run r-0123456789abcdef; this run reused its evaluate step)`,
    ],
    [
      "no model to score with",
      doc("refuse", null, "No model promoted."),
      null,
      null,
      "refused",
      "No model promoted.",
    ],
  ])("%s", (_label, decision, previousChampion, decidedBy, outcome, text) => {
    const line = decisionLine({ decision, previousChampion, stored: STORED, decidedBy });
    expect(line).toEqual({ outcome, text, decided_by: decidedBy });
    expect(line.text).not.toMatch(/champion champion/i);
  });
});
