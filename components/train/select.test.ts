import { describe, expect, it } from "vitest";
import { take, takeRows } from "../common/data/cv.js";
import { syntheticData } from "../models/gbdt/testdata.js";
import { capRows, refitOnAllRows, selectModel } from "./select.js";

describe("capRows (the MLP's cross-validation sample)", () => {
  it("keeps every row when there are few enough", () => {
    expect(capRows(Int32Array.from([5, 1, 9]), 10, 1)).toEqual([5, 1, 9]);
  });
  it("draws a seeded, sorted subset of exactly max rows", () => {
    const rows = Int32Array.from({ length: 1000 }, (_, i) => i * 2);
    const a = capRows(rows, 100, 7);
    expect(a).toHaveLength(100);
    expect(new Set(a).size).toBe(100);
    expect(a.every((r) => r % 2 === 0 && r < 2000)).toBe(true);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(capRows(rows, 100, 7)).toEqual(a);
    expect(capRows(rows, 100, 8)).not.toEqual(a);
  });
});

describe("refitOnAllRows (the promoted model learns from the held-out rows too)", () => {
  const n = 600;
  const d = 4;
  const data = syntheticData(n, d, 3, 0);
  const y = Uint8Array.from(data.y);
  const names = ["a", "b", "c", "d"];
  const tiers = { high: { top_share: 0.1 }, medium: { top_share: 0.3 } } as const;

  it("grows the GBDT's cross-validated number of trees on every row, seeded", async () => {
    const train = Int32Array.from({ length: 480 }, (_, i) => i);
    const selection = await selectModel({
      x: takeRows(data.x, d, train),
      y: take(y, train),
      featureNames: names,
      families: ["gbdt"],
      folds: 3,
      seed: 1,
      tiers,
    });
    expect(selection.cvRounds).toBeGreaterThan(0);
    const refit = await refitOnAllRows({ selection, x: data.x, y, featureNames: names, seed: 1 });
    const trees = (refit as unknown as { trees: unknown[] }).trees.length;
    expect(trees).toBe(selection.cvRounds);
    // Fitted on different rows than the judged model, with the same recipe.
    expect(refit).not.toEqual(selection.model);
    const again = await refitOnAllRows({ selection, x: data.x, y, featureNames: names, seed: 1 });
    expect(again).toEqual(refit);
  });
});
