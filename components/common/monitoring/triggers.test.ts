import { describe, expect, it } from "vitest";
import { cacheBypassReasons, evaluateTriggers, FORCING_TRIGGERS, withHistoryChanged } from "./triggers.js";

const settings = {
  on_history_change: true,
  on_labels: true,
  max_psi: 0.25,
  min_realised_roc_auc: null,
  max_model_age_weeks: 2,
};

describe("forced retraining", () => {
  it("only drift, realised performance and age force a retrain; data changes miss the cache by themselves", () => {
    expect(
      cacheBypassReasons(["history_changed", "labels_arrived", "psi_above_max", "model_too_old"]),
    ).toEqual(["psi_above_max", "model_too_old"]);
    expect(cacheBypassReasons(["history_changed", "labels_arrived"])).toEqual([]);
    expect([...FORCING_TRIGGERS].sort()).toEqual([
      "model_too_old",
      "psi_above_max",
      "realised_roc_auc_below_min",
    ]);
  });

  it("the report replaces the pre-training history check with what evaluate found", () => {
    const pre = evaluateTriggers({
      settings,
      trainedThisRun: null,
      maxFeaturePsi: 0.4,
      drifted: ["age"],
      arrived: [],
      championSince: new Date("2026-01-01T00:00:00Z"),
      now: new Date("2026-03-01T00:00:00Z"),
    });
    expect(pre.fired).toEqual(["psi_above_max", "model_too_old"]);
    expect(pre.states.find((s) => s.trigger === "history_changed")?.fired).toBeNull();
    const after = withHistoryChanged(pre.states, settings, true);
    expect(after.fired).toEqual(["history_changed", "psi_above_max", "model_too_old"]);
    expect(withHistoryChanged(pre.states, { ...settings, on_history_change: false }, true).fired).toEqual([
      "psi_above_max",
      "model_too_old",
    ]);
  });
});
