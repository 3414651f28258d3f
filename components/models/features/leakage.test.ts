import { describe, expect, it } from "vitest";
import { rocAuc } from "../../common/data/metrics.js";
import { Rng } from "../../common/random.js";
import { numericLeakAuc, outOfFoldLevelScore, quantileBinCodes } from "./leakage.js";

// 1000 rows, 20% churners.
const n = 1000;
const rng = new Rng(11);
const label = Uint8Array.from({ length: n }, () => (rng.nextFloat() < 0.2 ? 1 : 0));

/** Per-level churn rate on the same rows (what an in-sample check scores). */
function inSampleRateAuc(codes: Int32Array): number {
  const pos = new Map<number, number>();
  const all = new Map<number, number>();
  codes.forEach((c, i) => {
    pos.set(c, (pos.get(c) ?? 0) + label[i]!);
    all.set(c, (all.get(c) ?? 0) + 1);
  });
  return rocAuc(
    label,
    Float64Array.from(codes, (c) => pos.get(c)! / all.get(c)!),
  );
}

describe("out-of-fold leak measures", () => {
  it("a many-level categorical with no signal: high in sample, ~0.5 out of fold", () => {
    const codes = Int32Array.from({ length: n }, () => Math.floor(rng.nextFloat() * 400));
    expect(inSampleRateAuc(codes)).toBeGreaterThan(0.8);
    const score = outOfFoldLevelScore(codes, 400, label, 42);
    expect(Math.abs(score.rocAuc - 0.5)).toBeLessThan(0.08);
    expect(score.nmi).toBeLessThan(0.05);
  });

  it("a categorical equal to the label: ROC-AUC and NMI ~1", () => {
    const codes = Int32Array.from(label);
    const score = outOfFoldLevelScore(codes, 2, label, 42);
    expect(score.rocAuc).toBe(1);
    expect(score.nmi).toBeGreaterThan(0.98);
  });

  it("a real but imperfect signal stays well below the thresholds", () => {
    // the label with 15% of rows flipped
    const codes = Int32Array.from(label, (y) => (rng.nextFloat() < 0.15 ? 1 - y : y));
    const score = outOfFoldLevelScore(codes, 2, label, 42);
    expect(score.rocAuc).toBeLessThan(0.9);
    expect(score.nmi).toBeLessThan(0.5);
  });

  it("numbers: label plus a little noise reaches 1; a non-monotone leak is caught by the bins", () => {
    const copy = Float64Array.from(label, (y) => y + rng.nextFloat() * 0.1);
    expect(numericLeakAuc(copy, label, 42)).toBe(1);
    // churners sit in the middle of the range, the others at both ends
    const middle = Float64Array.from(label, (y) =>
      y
        ? 0.5 + rng.nextFloat() * 0.1
        : rng.nextFloat() < 0.5
          ? rng.nextFloat() * 0.4
          : 0.7 + rng.nextFloat() * 0.3,
    );
    expect(Math.max(rocAuc(label, middle), 1 - rocAuc(label, middle))).toBeLessThan(0.8);
    expect(numericLeakAuc(middle, label, 42)).toBeGreaterThan(0.98);
    const noise = Float64Array.from({ length: n }, () => rng.nextGaussian());
    expect(numericLeakAuc(noise, label, 42)).toBeLessThan(0.6);
  });

  it("quantile bins: missing values get -1 and equal values one bin", () => {
    const { codes, levels } = quantileBinCodes(Float64Array.from([Number.NaN, 1, 1, 1, 2, 3]), 4);
    expect(codes[0]).toBe(-1);
    expect(codes[1]).toBe(codes[3]);
    expect(levels).toBeGreaterThanOrEqual(2);
  });
});
