import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import {
  averagePrecision,
  brierScore,
  calibrationTable,
  confusionMatrix,
  liftTable,
  logLoss,
  rocAuc,
  thresholdMetrics,
} from "./metrics.js";

// A small fixed case with tied scores (0.4 three times, 0.2 twice, across classes).
// Expected values from scikit-learn 1.9.1 (roc_auc_score, average_precision_score,
// brier_score_loss, log_loss, precision/recall/f1_score and confusion_matrix with
// predictions p >= 0.4), run in ~/.cache/churn-test/venv-bench.
const y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1];
const p = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.65, 0.7, 0.05, 0.2];

describe("metrics against scikit-learn", () => {
  it.each([
    ["rocAuc", () => rocAuc(y, p), 0.7361111111111112],
    ["averagePrecision", () => averagePrecision(y, p), 0.7577380952380952],
    ["brierScore", () => brierScore(y, p), 0.2047916666666667],
    ["logLoss", () => logLoss(y, p), 0.5783549304240773],
    ["precision@0.4", () => thresholdMetrics(y, p, 0.4).precision, 0.5714285714285714],
    ["recall@0.4", () => thresholdMetrics(y, p, 0.4).recall, 0.6666666666666666],
    ["f1@0.4", () => thresholdMetrics(y, p, 0.4).f1, 0.6153846153846154],
  ])("%s", (_name, compute, expected) => {
    expect(compute()).toBeCloseTo(expected, 12);
  });

  it("confusion matrix at 0.4 (sklearn: tn=3 fp=3 fn=2 tp=4)", () => {
    expect(confusionMatrix(y, p, 0.4)).toEqual({ tn: 3, fp: 3, fn: 2, tp: 4 });
  });
});

describe("ROC-AUC by hand", () => {
  it.each([
    // all scores tied: every pair counts one half
    { y: [1, 0, 1, 0], p: [0.5, 0.5, 0.5, 0.5], auc: 0.5 },
    // perfect and reversed separation
    { y: [0, 0, 1, 1], p: [0.1, 0.2, 0.3, 0.4], auc: 1 },
    { y: [0, 0, 1, 1], p: [0.4, 0.3, 0.2, 0.1], auc: 0 },
    // one positive tied with one of two negatives: pairs (won, half) = 1.5 / 2
    { y: [1, 0, 0], p: [0.5, 0.5, 0.1], auc: 0.75 },
  ])("y=$y p=$p -> $auc", ({ y, p, auc }) => {
    expect(rocAuc(y, p)).toBeCloseTo(auc, 15);
  });

  it.each([1, 2, 3])("equals brute-force pair counting on random data with many ties (seed %i)", (seed) => {
    const rng = new Rng(seed);
    const labels = Array.from({ length: 300 }, () => (rng.nextFloat() < 0.3 ? 1 : 0));
    // scores on a coarse grid, so ties within and across classes are common
    const scores = labels.map((l) => Math.floor((rng.nextFloat() + 0.3 * l) * 8) / 8);
    let pairs = 0;
    let total = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < labels.length; j++) {
        if (labels[j] !== 0) continue;
        total++;
        pairs += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    expect(rocAuc(labels, scores)).toBeCloseTo(pairs / total, 14);
  });

  it("is NaN with one class only", () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it("rejects arrays of different length", () => {
    expect(() => rocAuc([1, 0], [0.2])).toThrow(/differ in length/);
  });
});

describe("average precision by hand", () => {
  it.each([
    // all tied: one threshold, recall 1 at precision 1/2 (sklearn gives 0.5)
    { y: [1, 0, 1, 0], p: [0.5, 0.5, 0.5, 0.5], ap: 0.5 },
    // ranks: 1(+) 2(-) 3(+): AP = 0.5*1 + 0.5*(2/3)
    { y: [1, 0, 1], p: [0.9, 0.8, 0.7], ap: 0.5 + 1 / 3 },
  ])("y=$y p=$p -> $ap", ({ y, p, ap }) => {
    expect(averagePrecision(y, p)).toBeCloseTo(ap, 15);
  });
});

describe("log loss", () => {
  it("clips certain wrong answers instead of returning Infinity", () => {
    const value = logLoss([1, 0], [0, 1]);
    // 1 - 1e-15 rounds in float64, so the wrong answer costs about -log(1.1e-15) ~ 34.4
    expect(value).toBeGreaterThan(34);
    expect(value).toBeLessThan(35);
    expect(Number.isFinite(value)).toBe(true);
  });
});

describe("calibration table", () => {
  it("cuts sorted predictions into equal-count bins with mean predicted and observed rate", () => {
    const probs = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3];
    const labels = [1, 0, 1, 1, 0, 0];
    const table = calibrationTable(labels, probs, 3);
    expect(table.map((b) => b.count)).toEqual([2, 2, 2]);
    expect(table[0].meanPredicted).toBeCloseTo(0.15, 15); // 0.1 and 0.2
    expect(table[0].observedRate).toBe(0.5); // labels 0 and 1
    expect(table[1].meanPredicted).toBeCloseTo(0.5, 15); // 0.3 and 0.7
    expect(table[1].observedRate).toBe(0);
    expect(table[2].meanPredicted).toBeCloseTo(0.85, 15);
    expect(table[2].observedRate).toBe(1);
    expect(table[2].minPredicted).toBe(0.8);
    expect(table[2].maxPredicted).toBe(0.9);
  });

  it("keeps every row when n is not a multiple of the bin count", () => {
    const probs = Array.from({ length: 23 }, (_, i) => i / 23);
    const labels = probs.map((q) => (q > 0.5 ? 1 : 0));
    const table = calibrationTable(labels, probs, 10);
    expect(table.reduce((s, b) => s + b.count, 0)).toBe(23);
    expect(
      Math.max(...table.map((b) => b.count)) - Math.min(...table.map((b) => b.count)),
    ).toBeLessThanOrEqual(1);
  });
});

describe("lift and gains", () => {
  it("orders deciles from the highest scores and accumulates gains to 1", () => {
    // 20 rows, 4 positives, all in the top 2 scores and two in the middle
    const probs = Array.from({ length: 20 }, (_, i) => 1 - i / 20);
    const labels = probs.map((_, i) => (i < 2 || i === 8 || i === 9 ? 1 : 0));
    const table = liftTable(labels, probs, 10);
    expect(table[0]).toMatchObject({
      decile: 1,
      count: 2,
      positives: 2,
      rate: 1,
      lift: 5,
      cumulativeGain: 0.5,
    });
    expect(table[4]).toMatchObject({ decile: 5, positives: 2, cumulativeGain: 1 });
    expect(table[4].cumulativeLift).toBeCloseTo(2, 15); // 4/10 vs 4/20
    expect(table[9].cumulativeGain).toBe(1);
  });
});
