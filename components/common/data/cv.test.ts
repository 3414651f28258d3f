import { describe, expect, it } from "vitest";
import { stratifiedFolds, stratifiedKFold, stratifiedSplit, take, takeRows } from "./cv.js";

// 100 rows, 17 positives spread irregularly
const y = Uint8Array.from({ length: 100 }, (_, i) => (i % 6 === 0 && i < 100 ? 1 : 0));
const positives = y.reduce((s, v) => s + v, 0);

describe("stratifiedKFold", () => {
  it.each([2, 5, 10])("k=%i partitions rows and keeps the positive rate in each fold", (k) => {
    const splits = stratifiedKFold(y, k, 42);
    const seen = new Uint8Array(y.length);
    for (const s of splits) {
      expect(s.train.length + s.test.length).toBe(y.length);
      for (const i of s.test) seen[i]++;
      const pos = Array.from(s.test).filter((i) => y[i] === 1).length;
      expect(Math.abs(pos - positives / k)).toBeLessThanOrEqual(1);
      expect(Math.abs(s.test.length - y.length / k)).toBeLessThanOrEqual(1);
    }
    expect(Array.from(seen).every((c) => c === 1)).toBe(true);
  });

  it("is a function of the seed", () => {
    expect(stratifiedFolds(y, 5, 7)).toEqual(stratifiedFolds(y, 5, 7));
    expect(stratifiedFolds(y, 5, 7)).not.toEqual(stratifiedFolds(y, 5, 8));
  });

  it("refuses more folds than rows", () => {
    expect(() => stratifiedFolds(Uint8Array.of(0, 1), 3, 1)).toThrow(/cannot split 2 rows/);
  });
});

describe("stratifiedSplit", () => {
  it("holds out the share of each class, deterministically", () => {
    const a = stratifiedSplit(y, 0.3, 42);
    expect(a.valid.length + a.train.length).toBe(100);
    const validPos = Array.from(a.valid).filter((i) => y[i] === 1).length;
    expect(validPos).toBe(Math.round(0.3 * positives));
    expect(a.valid.length).toBe(Math.round(0.3 * positives) + Math.round(0.3 * (100 - positives)));
    expect(stratifiedSplit(y, 0.3, 42)).toEqual(a);
  });
});

describe("row helpers", () => {
  it("take rows of a row-major matrix and entries of a vector", () => {
    const x = Float64Array.of(1, 2, 3, 4, 5, 6);
    expect(Array.from(takeRows(x, 2, [2, 0]))).toEqual([5, 6, 1, 2]);
    expect(Array.from(take(Uint8Array.of(9, 8, 7), [1, 1]))).toEqual([8, 8]);
  });
});
