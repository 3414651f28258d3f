import { describe, expect, it } from "vitest";
import { take, takeRows } from "../common/data/cv.js";
import { syntheticData } from "../models/gbdt/testdata.js";
import { cannotCatchUp, capRows, refitOnAllRows, selectModel } from "./select.js";

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

describe("cannotCatchUp (a family's cross-validation stops when it cannot catch up)", () => {
  const n = 1000;
  const y = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  // The leader ranks perfectly; a noisy challenger is behind on every fold.
  const leader = Float64Array.from(y, (v, i) => v + (i % 7) * 0.01);
  const folds = Array.from({ length: 5 }, (_, f) => Int32Array.from({ length: n / 5 }, (_, i) => i * 5 + f));

  it("stops a challenger clearly behind after the minimum folds, not before", () => {
    const stop = cannotCatchUp(leader, y);
    const worse = Float64Array.from(y, (v, i) => v * 0.3 + ((i * 7919) % 101) / 101);
    expect(stop(folds[0]!, worse)).toBe(false);
    expect(stop(folds[1]!, worse)).toBe(true);
  });

  it("never stops a challenger that is level or ahead on some folds", () => {
    const stop = cannotCatchUp(leader, y);
    const level = Float64Array.from(leader);
    for (const fold of folds.slice(0, 4)) expect(stop(fold, level)).toBe(false);
  });

  it("leaves out a stopped family and still selects the leader", async () => {
    const data = syntheticData(900, 4, 3, 0);
    const yy = Uint8Array.from(data.y);
    // gbdt first: logistic regression cannot fit syntheticData's interactions as well.
    const progress: string[] = [];
    const selection = await selectModel({
      x: data.x,
      y: yy,
      featureNames: ["a", "b", "c", "d"],
      families: ["gbdt", "logistic"],
      folds: 5,
      seed: 1,
      tiers: { high: { top_share: 0.1 }, medium: { top_share: 0.3 } },
      onProgress: (m) => progress.push(m),
    });
    const logistic = selection.candidates.find((c) => c.family === "logistic")!;
    console.log(
      `gbdt ${selection.candidates[0]!.cvRocAuc.toFixed(4)}, logistic ${logistic.cvRocAuc.toFixed(4)} after ${logistic.folds} folds`,
    );
    expect(selection.family).toBe("gbdt");
    // Seeded: logistic regression is behind on the first two folds by far more than their spread.
    expect(logistic.stoppedEarly).toBe(true);
    expect(logistic.folds).toBe(2);
    expect(logistic.cvRocAuc).toBeLessThan(selection.candidates[0]!.cvRocAuc);
    expect(progress).toContain("logistic: stopped after 2 folds (behind gbdt)");
  });
});
