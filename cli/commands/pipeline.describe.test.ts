import { describe, expect, it } from "vitest";
import { pendingStep, type RunRecord } from "../../pipelines/runner/records.js";
import { describeRun } from "./pipeline.js";
import { describeRunRecord } from "./runs.js";

const record = (retrain?: RunRecord["retrain"]): RunRecord => ({
  version: 1,
  run_id: "r-1",
  pipeline: "weekly",
  bucket: "file:///b",
  runner: "local",
  trigger: { object: "weekly/w.csv", generation: "1" },
  attempt: 1,
  state: "succeeded",
  exit_code: 0,
  reason: null,
  started: "2026-01-01T00:00:00Z",
  finished: "2026-01-01T00:00:01Z",
  seconds: 1,
  code_version: "c",
  output_prefix: "output/w/",
  ...(retrain ? { retrain } : {}),
  steps: [],
});

describe("describeRun", () => {
  it("says when a retraining trigger bypassed the cache, and is silent otherwise", () => {
    expect(
      describeRun(record({ fired: ["psi_above_max"], cache_bypassed: ["train", "evaluate"] }), false),
    ).toContain(
      "retrained on unchanged training data because psi_above_max fired (cache bypassed for train, evaluate)",
    );
    expect(describeRun(record({ fired: ["psi_above_max"], cache_bypassed: [] }), false)).not.toContain(
      "retrained",
    );
    expect(describeRun(record(), false)).not.toContain("retrained");
  });
});

describe("describeRunRecord (churn runs show)", () => {
  it("shows the retrain line and which steps bypassed the cache", () => {
    const text = describeRunRecord({
      ...record({ fired: ["model_too_old"], cache_bypassed: ["train"] }),
      steps: [
        {
          ...pendingStep({ name: "train", component: "train" }),
          state: "succeeded",
          attempts: 1,
          exit_code: 0,
          seconds: 2,
          cache: { key: "k", hit: false, from: null, bypassed: ["model_too_old"] },
        },
      ],
    });
    expect(text).toContain("retrain   model_too_old fired; cache bypassed for train");
    expect(text).toMatch(/train\s+succeeded\s+\S+\s+cache bypassed \(model_too_old\)/);
  });
});
