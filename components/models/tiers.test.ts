import { describe, expect, it } from "vitest";
import { chooseThreshold, chooseTierThresholds, tierOf } from "./tiers.js";

// 10 validation rows, probabilities descending for readability
const p = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
const y = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0];

describe("chooseThreshold", () => {
  it.each([
    // top 10% of 10 rows = 1 row
    [{ top_share: 0.1 }, 0.95, 0.1, 1],
    // top 30% = 3 rows, 2 churners
    [{ top_share: 0.3 }, 0.8, 0.3, 2 / 3],
    // share rounds up: 25% of 10 = 3 rows
    [{ top_share: 0.25 }, 0.8, 0.3, 2 / 3],
    // precision >= 0.75: prefixes 1,1,2/3,3/4,3/5,4/6 -> the lowest reaching it is 0.7
    [{ precision: 0.75 }, 0.7, 0.4, 0.75],
    // precision >= 0.6 is reached down to 0.5 (4/6 = 0.667)
    [{ precision: 0.6 }, 0.5, 0.6, 4 / 6],
  ])("%j -> threshold %d", (rule, threshold, share, precision) => {
    const t = chooseThreshold(y, p, rule);
    expect(t.threshold).toBe(threshold);
    expect(t.validation.share).toBeCloseTo(share, 12);
    expect(t.validation.precision).toBeCloseTo(precision, 12);
    expect(t.note).toBeUndefined();
  });

  it("keeps a tie group together at the boundary", () => {
    const t = chooseThreshold([1, 0, 0, 0], [0.9, 0.5, 0.5, 0.1], { top_share: 0.5 });
    expect(t.threshold).toBe(0.5);
    expect(t.validation.share).toBe(0.75);
  });

  it("explains an unreachable precision", () => {
    const t = chooseThreshold([0, 1], [0.9, 0.1], { precision: 0.99 });
    expect(t.threshold).toBe(0.9);
    expect(t.note).toMatch(/no threshold reached precision 0.99/);
  });
});

describe("chooseTierThresholds and tierOf", () => {
  it("assigns high, medium and low by the stored thresholds", () => {
    const t = chooseTierThresholds(y, p, { high: { top_share: 0.1 }, medium: { top_share: 0.3 } });
    expect([0.99, 0.95, 0.85, 0.8, 0.79].map((q) => tierOf(t, q))).toEqual([
      "high",
      "high",
      "medium",
      "medium",
      "low",
    ]);
  });

  it("never puts medium above high", () => {
    const t = chooseTierThresholds(y, p, { high: { top_share: 0.3 }, medium: { precision: 0.99 } });
    expect(t.medium.threshold).toBe(t.high.threshold);
    expect(t.medium.note).toMatch(/lowered/);
  });
});
