import { describe, expect, it } from "vitest";
import { Rng } from "../common/random.js";
import { kmeans, segmentCustomers, silhouette, standardise } from "./kmeans.js";

/** Three well-separated customer groups (clear rhythm, spend and recency). */
function threeGroups(seed: number) {
  const rng = new Rng(seed);
  const jitter = (v: number) => v * (0.9 + 0.2 * rng.nextFloat());
  const out = [];
  for (let i = 0; i < 60; i++)
    out.push({ frequency: Math.round(jitter(20)), recency: 50, T: jitter(51), monetary: jitter(200) });
  for (let i = 0; i < 60; i++)
    out.push({ frequency: Math.round(jitter(3)), recency: 20, T: 20 + jitter(25), monetary: jitter(30) });
  for (let i = 0; i < 60; i++) out.push({ frequency: 0, recency: 0, T: jitter(50), monetary: 0 });
  return out;
}

describe("kmeans", () => {
  it("separates obvious blobs and is reproducible for a seed", () => {
    const pts = new Float64Array([0, 0, 0.1, 0, 0, 0.1, 10, 10, 10.1, 10, 10, 10.1]);
    const a = kmeans(pts, 2, 2, new Rng(1));
    const b = kmeans(pts, 2, 2, new Rng(1));
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.labels[0]).toBe(a.labels[1]);
    expect(a.labels[0]).not.toBe(a.labels[3]);
    expect(a.inertia).toBeCloseTo(4 * (0.1 ** 2 * (2 / 3)), 10);
  });

  it("silhouette is near 1 for tight far clusters and lower for a bad split", () => {
    const pts = new Float64Array([0, 0, 0.1, 0, 10, 10, 10.1, 10]);
    expect(silhouette(pts, 2, [0, 0, 1, 1], 2)).toBeGreaterThan(0.98);
    expect(silhouette(pts, 2, [0, 1, 0, 1], 2)).toBeLessThan(0);
  });
});

describe("segmentCustomers", () => {
  it("finds the three groups, names them in plain words, and repeats for a seed", () => {
    const customers = threeGroups(5);
    const seg = segmentCustomers(customers, { seed: 9 });
    expect(seg.k).toBe(3);
    expect(Object.keys(seg.silhouettes).map(Number)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(seg.profiles.map((p) => p.size).sort()).toEqual([60, 60, 60]);
    const names = seg.profiles.map((p) => p.name);
    expect(names).toContain("frequent high spenders, recently active");
    expect(names.some((n) => n.startsWith("one-off"))).toBe(true);
    const again = segmentCustomers(customers, { seed: 9 });
    expect(Array.from(again.labels)).toEqual(Array.from(seg.labels));
  });

  it("log-transforms a skewed feature and z-scores all", () => {
    const customers = Array.from({ length: 100 }, (_, i) => ({
      frequency: i < 95 ? 1 : 200,
      recency: 1,
      T: 10 + (i % 10),
      monetary: 10,
    }));
    const { transform, points } = standardise(customers);
    expect(transform.log1p).toEqual([false, true, false]);
    // Constant monetary: sd recorded as 1 and the feature is 0 everywhere.
    expect(points[2]).toBe(0);
    let mean = 0;
    for (let i = 0; i < 100; i++) mean += points[i * 3 + 1] / 100;
    expect(mean).toBeCloseTo(0, 12);
  });
});
