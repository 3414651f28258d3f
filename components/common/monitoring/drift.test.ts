import { describe, expect, it } from "vitest";
import type { ColumnProfile, Profile } from "../profile/profile.js";
import { ProfileBuilder, percentiles } from "../profile/profile.js";
import { Rng } from "../random.js";
import type { DatasetSchema } from "../schema/types.js";
import {
  binShares,
  categoricalDrift,
  computeDrift,
  decileEdges,
  numericDrift,
  psi,
  psiBand,
  ScoreBinner,
} from "./drift.js";

describe("population stability index", () => {
  it("matches hand-computed values", () => {
    // (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5) = 0.17329 + 0.10137
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 5);
    // (0.3-0.2)ln(1.5) + (0.3-0.4)ln(0.75) + (0.4-0.4)·0 = 0.040547 + 0.028768
    expect(psi([0.2, 0.4, 0.4], [0.3, 0.3, 0.4])).toBeCloseTo(0.069315, 5);
    expect(psi([0.1, 0.9], [0.1, 0.9])).toBe(0);
    // An empty bin is floored at 1e-4 instead of making the PSI infinite.
    expect(psi([0.5, 0.5], [1, 0])).toBeCloseTo(0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5), 6);
    expect(() => psi([1], [0.5, 0.5])).toThrow(/bins/);
  });

  it("bands at 0.1 and 0.25", () => {
    expect(psiBand(0)).toBe("stable");
    expect(psiBand(0.0999)).toBe("stable");
    expect(psiBand(0.1)).toBe("moderate");
    expect(psiBand(0.2499)).toBe("moderate");
    expect(psiBand(0.25)).toBe("significant");
    expect(psiBand(3)).toBe("significant");
  });

  it("bins by training deciles, merging ties", () => {
    const q = Array.from({ length: 101 }, (_, k) => k); // uniform 0..100
    expect(decileEdges(q)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const shares = binShares(q, decileEdges(q));
    expect(shares).toHaveLength(10);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(shares[0]).toBeCloseTo(11 / 101, 12);
    // A column with few distinct values: ties collapse and the top edge at the max is dropped.
    const coarse = Array.from({ length: 101 }, (_, k) => (k < 50 ? 0 : k < 80 ? 1 : 2));
    expect(decileEdges(coarse)).toEqual([0, 1]);
  });
});

function numericColumn(name: string, values: number[]): ColumnProfile {
  return {
    name,
    type: "numeric",
    role: "feature",
    count: values.length,
    missing: 0,
    missingRate: 0,
    quantiles: percentiles(values),
  };
}

describe("feature drift", () => {
  const rng = new Rng(7);
  const train = Array.from({ length: 5000 }, () => 20 + 10 * rng.nextFloat());
  const same = Array.from({ length: 1000 }, () => 20 + 10 * rng.nextFloat());

  it("a numeric column shifted by +50% is significant, a resample is stable", () => {
    const stable = numericDrift(numericColumn("x", train), numericColumn("x", same))!;
    expect(stable.psi).toBeLessThan(0.1);
    expect(stable.band).toBe("stable");
    const shifted = numericDrift(
      numericColumn("x", train),
      numericColumn(
        "x",
        same.map((v) => v * 1.5),
      ),
    )!;
    expect(shifted.psi).toBeGreaterThan(0.25);
    expect(shifted.band).toBe("significant");
    expect(shifted.bins).toHaveLength(10);
  });

  it("categorical shares with an other bucket", () => {
    const col = (top: Array<[string, number]>, distinct: number): ColumnProfile => ({
      name: "plan",
      type: "categorical",
      role: "feature",
      count: top.reduce((a, [, c]) => a + c, 0) + 10,
      missing: 10,
      missingRate: 0,
      top: top.map(([value, count]) => ({ value, count })),
      distinct,
    });
    const drift = categoricalDrift(
      col(
        [
          ["a", 50],
          ["b", 50],
        ],
        2,
      ),
      col(
        [
          ["a", 25],
          ["b", 75],
        ],
        2,
      ),
    )!;
    // Same as the hand-computed two-bin case, plus an empty "other" on both sides.
    expect(drift.psi).toBeCloseTo(0.2747, 4);
    expect(drift.bins.map((b) => b.bin)).toEqual(["a", "b", "other"]);
    // A new category this week lands in "other".
    const grown = categoricalDrift(
      col(
        [
          ["a", 50],
          ["b", 50],
        ],
        2,
      ),
      col(
        [
          ["a", 50],
          ["b", 30],
          ["c", 20],
        ],
        3,
      ),
    )!;
    expect(grown.bins.at(-1)).toEqual({ bin: "other", training: 0, weekly: 0.2 });
    expect(grown.psi).toBeGreaterThan(0.25);
  });

  it("score shift against the held-out calibration deciles", () => {
    const bins = Array.from({ length: 10 }, (_, i) => ({ count: 100, maxPredicted: (i + 1) / 10 }));
    const same = new ScoreBinner(bins);
    const moved = new ScoreBinner(bins);
    for (let i = 0; i < 1000; i++) {
      same.add((i + 0.5) / 1000);
      moved.add(Math.min(1, ((i + 0.5) / 1000) ** 0.3));
    }
    expect(same.shares()).toEqual(new Array(10).fill(0.1));
    const profile: Profile = { rows: { in: 0, accepted: 0, rejected: 0 }, columns: [], piiColumns: [] };
    expect(computeDrift(profile, profile, same).score!.psi).toBe(0);
    expect(computeDrift(profile, profile, moved).score!.band).toBe("significant");
  });
});

describe("profile percentiles", () => {
  it("are deterministic and close to the true quantiles beyond the reservoir size", () => {
    const schema: DatasetSchema = {
      columns: [{ name: "x", type: "numeric", role: "feature" }],
    } as unknown as DatasetSchema;
    const build = () => {
      const b = new ProfileBuilder(schema);
      const n = 60_000;
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = (i * 7919) % n; // a permutation of 0..n-1
      b.add({ numRows: n, columns: { x: values } } as never);
      return b.result(n, 0).columns[0]!.quantiles!;
    };
    const q = build();
    expect(q).toHaveLength(101);
    expect(build()).toEqual(q);
    for (const k of [10, 50, 90]) expect(Math.abs(q[k]! / 60_000 - k / 100)).toBeLessThan(0.01);
  });

  it("sample values in sorted order fairly, and do not depend on how the rows are batched", () => {
    // Sorted input is where a biased reservoir shows: early or late values would be over-represented.
    const schema: DatasetSchema = {
      columns: [{ name: "x", type: "numeric", role: "feature" }],
    } as unknown as DatasetSchema;
    const n = 500_000;
    const values = Float64Array.from({ length: n }, (_, i) => i);
    const build = (batchRows: number) => {
      const b = new ProfileBuilder(schema);
      for (let from = 0; from < n; from += batchRows) {
        const part = values.subarray(from, Math.min(n, from + batchRows));
        b.add({ numRows: part.length, columns: { x: part } } as never);
      }
      return b.result(n, 0).columns[0]!.quantiles!;
    };
    const q = build(n);
    expect(build(32_768)).toEqual(q);
    expect(build(777)).toEqual(q);
    for (let k = 5; k <= 95; k += 5) expect(Math.abs(q[k]! / n - k / 100)).toBeLessThan(0.01);
    expect(q[0]).toBeLessThan(n * 0.001);
    expect(q[100]).toBeGreaterThan(n * 0.999);
  });
});
