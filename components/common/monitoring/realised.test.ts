import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { REALISED_OBJECT } from "../layout/index.js";
import { openStorage } from "../storage/index.js";
import { realisedMetrics, updateRealised } from "./realised.js";
import { evaluateTriggers } from "./triggers.js";

const scores = [
  "CLIENTNUM,churn_probability,risk_tier,model_version",
  "1,0.9,high,v",
  "2,0.8,high,v",
  "3,0.4,medium,v",
  "4,0.1,low,v",
  "5,0.05,low,v",
  "",
].join("\n");

describe("realised performance", () => {
  it("joins labels with the week's scores: ROC-AUC, precision and recall of the high tier", () => {
    // Churned: 1, 3 and 9 (9 was never scored). Pairs (pos, neg): 1 beats 2,4,5; 3 beats 4,5, loses to 2 → 5/6.
    const labels = "id,label\n1,1\n2,0\n3,Attrited Customer\n4,0\n5,false\n9,1\n";
    const m = realisedMetrics(labels, "labels/w.csv", scores, "output/w/scores.csv", "Attrited Customer");
    expect(m).toMatchObject({ labelled: 6, matched: 5, positives: 2 });
    expect(m.roc_auc).toBeCloseTo(5 / 6, 4);
    expect(m.precision).toBe(0.5); // high tier = 1 (churned) and 2 (stayed)
    expect(m.recall).toBe(0.5); // of churners 1 and 3, only 1 was high
  });

  it("names the file and line of a bad labels row", () => {
    expect(() => realisedMetrics("id,label\n1,\n", "labels/w.csv", scores, "s", null)).toThrow(InputError);
    expect(() => realisedMetrics("id,label\n1,\n", "labels/w.csv", scores, "s", null)).toThrow(
      /labels\/w.csv line 2/,
    );
  });

  it("tracks weeks in monitoring/realised.json, measuring each labels file once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "realised-"));
    try {
      const storage = await openStorage(dir);
      await storage.write("output/2026-W01/scores.csv", scores);
      await storage.write("labels/2026-W01.csv", "id,label\n1,1\n2,0\n4,0\n");
      await storage.write("labels/2026-W09.csv", "id,label\n1,1\n"); // never scored: ignored
      const first = await updateRealised(storage, null);
      expect(first.arrived.map((w) => w.week)).toEqual(["2026-W01"]);
      expect(first.history.weeks[0]!.roc_auc).toBe(1);
      expect(JSON.parse(await storage.readText(REALISED_OBJECT)).weeks).toHaveLength(1);
      const again = await updateRealised(storage, null);
      expect(again.arrived).toEqual([]);
      expect(again.history.weeks).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("retraining triggers", () => {
  const settings = {
    on_history_change: true,
    on_labels: true,
    max_psi: 0.25,
    min_realised_roc_auc: 0.7,
    max_model_age_weeks: 4,
  };
  const week = (roc: number) => ({
    week: "w",
    labels_object: "labels/w.csv",
    labels_generation: "1",
    labelled: 10,
    matched: 10,
    positives: 3,
    roc_auc: roc,
    precision: 1,
    recall: 1,
    computed_at: "",
  });
  const now = new Date("2026-03-01T00:00:00Z");

  it("fires the ones that hold and no others", () => {
    const quiet = evaluateTriggers({
      settings,
      trainedThisRun: false,
      maxFeaturePsi: 0.2,
      drifted: [],
      arrived: [],
      championSince: new Date("2026-02-20T00:00:00Z"),
      now,
    });
    expect(quiet.fired).toEqual([]);
    const loud = evaluateTriggers({
      settings,
      trainedThisRun: true,
      maxFeaturePsi: 0.3,
      drifted: ["age"],
      arrived: [week(0.6)],
      championSince: new Date("2026-01-01T00:00:00Z"),
      now,
    });
    expect(loud.fired).toEqual([
      "history_changed",
      "labels_arrived",
      "psi_above_max",
      "realised_roc_auc_below_min",
      "model_too_old",
    ]);
  });

  it("reports disabled triggers as not applicable", () => {
    const off = evaluateTriggers({
      settings: {
        ...settings,
        on_labels: false,
        max_psi: null,
        min_realised_roc_auc: null,
        max_model_age_weeks: null,
      },
      trainedThisRun: null,
      maxFeaturePsi: 5,
      drifted: [],
      arrived: [week(0.1)],
      championSince: null,
      now,
    });
    expect(off.fired).toEqual([]);
    expect(off.states.filter((s) => s.fired === null)).toHaveLength(5);
  });
});
