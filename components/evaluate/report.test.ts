import { describe, expect, it } from "vitest";
import { bestF1Threshold, evaluatePredictions, globalImportance } from "./report.js";

describe("evaluatePredictions", () => {
  it("collects every metric into plain JSON", () => {
    const y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1];
    const p = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.65, 0.7, 0.05, 0.2];
    const r = evaluatePredictions(y, p, { threshold: 0.4 });
    expect(r.rows).toBe(12);
    expect(r.positives).toBe(6);
    expect(r.rocAuc).toBeCloseTo(0.7361111111111112, 12); // sklearn, see metrics.test.ts
    expect(r.atThreshold.confusion).toEqual({ tp: 4, fp: 3, tn: 3, fn: 2 });
    expect(r.calibration).toHaveLength(10);
    expect(r.lift).toHaveLength(10);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("reports an undefined ROC-AUC as null, not NaN", () => {
    const r = evaluatePredictions([0, 0], [0.1, 0.2]);
    expect(r.rocAuc).toBeNull();
    expect(r.prAuc).toBeNull();
  });
});

describe("bestF1Threshold", () => {
  it("finds the cut with the best F1", () => {
    // cut at 0.7 catches 2 of 2 churners with one false alarm: F1 0.8
    expect(bestF1Threshold([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.1])).toBe(0.7);
  });
});

describe("globalImportance", () => {
  it("ranks columns by mean absolute contribution", () => {
    // two rows × three columns
    const rows = globalImportance(["a", "b", "c"], Float64Array.of(0.1, -2, 0.5, -0.1, 1, 0.5));
    expect(rows.map((r) => r.column)).toEqual(["b", "c", "a"]);
    expect(rows[0]).toEqual({ column: "b", meanAbs: 1.5, mean: -0.5 });
    expect(rows[2].mean).toBeCloseTo(0, 15);
  });
});
