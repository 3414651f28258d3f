import { describe, expect, it } from "vitest";
import { Rng } from "../../common/random.js";
import { binOf, fitFeatureBins } from "./binning.js";
import { compileGbdt, compileGbdtCode, predictMargin } from "./compiled.js";
import { featureImportance } from "./importance.js";
import { type GbdtModel, parseGbdtModel, predictMarginPlain, sigmoid } from "./model.js";
import { auc, randomTree, syntheticData } from "./testdata.js";
import { trainGbdt } from "./train.js";

const D = 5;
const train = syntheticData(3000, D, 1);
const test = syntheticData(2000, D, 2);
const fitted = trainGbdt({ ...train, numFeatures: D, params: { maxRounds: 150, seed: 7 } });

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe("binning", () => {
  it("gives each distinct value its own bin when there are few, and NaN the missing bin", () => {
    const x = Float64Array.from([3, 1, 2, 2, Number.NaN, 1]);
    const bins = fitFeatureBins(x, 1, 0, [0, 1, 2, 3, 4, 5], 255, new Float64Array(6));
    expect(bins.numBins).toBe(3);
    expect(bins.hasMissing).toBe(true);
    expect(Array.from(bins.upper)).toEqual([1.5, 2.5]);
    expect([1, 2, 3, Number.NaN, 0.5, 99].map((v) => binOf(bins, v))).toEqual([0, 1, 2, 3, 0, 2]);
  });

  it("caps the bin count and keeps bins roughly equal in size", () => {
    const n = 10_000;
    const x = Float64Array.from({ length: n }, (_, i) => (i * 7919) % n);
    const bins = fitFeatureBins(
      x,
      1,
      0,
      Array.from({ length: n }, (_, i) => i),
      16,
      new Float64Array(n),
    );
    expect(bins.numBins).toBe(16);
    const counts = new Array(17).fill(0);
    for (const v of x) counts[binOf(bins, v)]++;
    for (let b = 0; b < 16; b++) expect(Math.abs(counts[b] - n / 16)).toBeLessThan(n / 64);
  });
});

describe("trainGbdt", () => {
  it("learns a nonlinear signal with missing values", () => {
    const m = predictMarginPlain(fitted.model, test.x, 2000);
    expect(auc(m, test.y)).toBeGreaterThan(0.8);
    expect(fitted.bestRounds).toBeGreaterThan(10);
    expect(fitted.validationLoss.length).toBeGreaterThanOrEqual(fitted.bestRounds);
  });

  it("is deterministic with the seed and changes with another seed", () => {
    const again = trainGbdt({ ...train, numFeatures: D, params: { maxRounds: 150, seed: 7 } });
    expect(JSON.stringify(again.model)).toBe(JSON.stringify(fitted.model));
    const other = trainGbdt({ ...train, numFeatures: D, params: { maxRounds: 150, seed: 8 } });
    expect(JSON.stringify(other.model)).not.toBe(JSON.stringify(fitted.model));
  });

  it("learns where missing values go: NaN in feature 1 raises the churn odds", () => {
    // The true effect is +1.5 on the log-odds; early stopping shrinks it by a seed-dependent
    // amount, so the learned effect is averaged over three seeds' models.
    const nanRow = Float64Array.from([0, Number.NaN, 0, 0, 0]);
    const zeroRow = Float64Array.from([0, 0, 0, 0, 0]);
    let effect = 0;
    for (const seed of [7, 8, 9]) {
      const model =
        seed === 7
          ? fitted.model
          : trainGbdt({ ...train, numFeatures: D, params: { maxRounds: 150, seed } }).model;
      const [mNan] = predictMarginPlain(model, nanRow, 1);
      const [mZero] = predictMarginPlain(model, zeroRow, 1);
      effect += (mNan - mZero) / 3;
    }
    expect(effect).toBeGreaterThan(0.5);
  });

  it("respects min_data_in_leaf, num_leaves and max_depth", () => {
    const r = trainGbdt({
      ...train,
      numFeatures: D,
      params: {
        maxRounds: 5,
        earlyStoppingRounds: 0,
        minDataInLeaf: 100,
        numLeaves: 8,
        maxDepth: 2,
        baggingFraction: 1,
      },
    });
    for (const t of r.model.trees) {
      const leaves = t.feature.filter((f) => f === -1).length;
      expect(leaves).toBeLessThanOrEqual(4);
      t.feature.forEach((f, k) => {
        if (f === -1) expect(t.cover[k]).toBeGreaterThanOrEqual(100);
      });
    }
    expect(r.model.trees).toHaveLength(5);
  });

  it("uses sample weights: upweighting positives raises predicted probabilities", () => {
    const w = Float64Array.from(train.y, (v) => (v === 1 ? 5 : 1));
    const weighted = trainGbdt({ ...train, weights: w, numFeatures: D, params: { maxRounds: 50 } });
    const mean = (m: Float64Array) => m.reduce((s, v) => s + sigmoid(v), 0) / m.length;
    const base = predictMarginPlain(fitted.model, test.x, 2000);
    const up = predictMarginPlain(weighted.model, test.x, 2000);
    expect(mean(up)).toBeGreaterThan(mean(base) + 0.1);
  });

  it("walks validation rows in bin space exactly as the raw thresholds do, out of range and missing values too", () => {
    // Validation values three times as spread as the training ones: many fall outside every bin edge.
    const valid = syntheticData(1500, D, 3, 0.15);
    const x = valid.x.map((v) => v * 3);
    const weights = Float64Array.from(valid.y, (v, i) => (v === 1 ? 2 : 1) + (i % 3));
    const r = trainGbdt({
      ...train,
      numFeatures: D,
      validation: { x, y: valid.y, weights },
      params: { maxRounds: 40, earlyStoppingRounds: 40, seed: 3 },
    });
    // The loss after each kept round, recomputed from the stored trees with the raw-value walk.
    const kept = r.model.trees.length;
    expect(kept).toBeGreaterThan(10);
    for (const round of [0, 9, kept - 1]) {
      const m = { ...r.model, trees: r.model.trees.slice(0, round + 1) };
      const margin = predictMarginPlain(m, x, 1500);
      let s = 0;
      let ws = 0;
      for (let i = 0; i < 1500; i++) {
        const v = margin[i];
        s += weights[i] * (Math.max(v, 0) - v * valid.y[i] + Math.log1p(Math.exp(-Math.abs(v))));
        ws += weights[i];
      }
      expect(r.validationLoss[round]).toBeCloseTo(s / ws, 12);
    }
  });

  it("fitRows fits on those rows in place: the same model as on a copy of them", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 4 !== 1);
    const x = new Float64Array(rows.length * D);
    rows.forEach((r, k) => {
      x.set(train.x.subarray(r * D, r * D + D), k * D);
    });
    const y = Float64Array.from(rows, (r) => train.y[r]);
    const params = { maxRounds: 60, seed: 11 };
    const copied = trainGbdt({ x, y, numFeatures: D, params });
    const inPlace = trainGbdt({ ...train, numFeatures: D, fitRows: rows, params });
    expect(inPlace.model.params.trainRows).toBe(copied.model.params.trainRows);
    expect(JSON.stringify(inPlace)).toBe(JSON.stringify(copied));
    expect(() => trainGbdt({ ...train, numFeatures: D, fitRows: [0, 5, 5] })).toThrow(/strictly ascending/);
    expect(() => trainGbdt({ ...train, numFeatures: D, fitRows: [0, 3000] })).toThrow(
      /fitRows\[1\] = 3000 is not a row index/,
    );
  });

  it("rejects bad input with a clear message", () => {
    expect(() => trainGbdt({ x: new Float64Array(6), y: new Float64Array(3), numFeatures: 4 })).toThrow(
      /multiple of 4/,
    );
    expect(() => trainGbdt({ x: new Float64Array(4), y: Float64Array.from([0, 2]), numFeatures: 2 })).toThrow(
      /row 1 label 2/,
    );
    expect(() => trainGbdt({ x: new Float64Array(4), y: Float64Array.from([1, 1]), numFeatures: 2 })).toThrow(
      /both classes/,
    );
    expect(() =>
      trainGbdt({
        x: Float64Array.from([1, Number.POSITIVE_INFINITY]),
        y: Float64Array.from([0, 1]),
        numFeatures: 1,
      }),
    ).toThrow(/row 1 feature 0 is infinite/);
    expect(() => trainGbdt({ ...train, numFeatures: D, params: { learningRate: -1 } })).toThrow();
  });
});

describe("model format and inference", () => {
  it("round-trips through JSON with identical predictions", () => {
    const json = JSON.parse(JSON.stringify(fitted.model));
    const parsed = parseGbdtModel(json);
    expect(
      sameBits(predictMarginPlain(parsed, test.x, 2000), predictMarginPlain(fitted.model, test.x, 2000)),
    ).toBe(true);
  });

  it("flattened inference is bit-identical to the plain walk, in any batch size", () => {
    const plain = predictMarginPlain(fitted.model, test.x, 2000);
    const c = compileGbdt(fitted.model);
    expect(sameBits(predictMargin(c, test.x, 2000), plain)).toBe(true);
    const rowByRow = new Float64Array(2000);
    for (let r = 0; r < 2000; r++) rowByRow[r] = predictMargin(c, test.x.subarray(r * D, r * D + D), 1)[0];
    expect(sameBits(rowByRow, plain)).toBe(true);
    const sharded = new Float64Array(2000);
    for (let r0 = 0; r0 < 2000; r0 += 333) {
      const r1 = Math.min(2000, r0 + 333);
      sharded.set(predictMargin(c, test.x.subarray(r0 * D, r1 * D), r1 - r0), r0);
    }
    expect(sameBits(sharded, plain)).toBe(true);
    const code = compileGbdtCode(fitted.model);
    expect(sameBits(code.predictMargin(test.x, 2000), plain)).toBe(true);
    expect(code.predictMargin(test.x.subarray(5 * D, 6 * D), 1)[0]).toBe(plain[5]);
  });

  it("generated code is bit-identical to the plain walk on random trees of every shape, with NaN and infinities", () => {
    // Trees from a single leaf to lopsided ones of 60 leaves: both the branching
    // part and the branch-free small subtrees (any left/right mix) are exercised.
    const rng = new Rng(5);
    const d = 6;
    const model: GbdtModel = {
      kind: "gbdt",
      formatVersion: 1,
      numFeatures: d,
      featureNames: Array.from({ length: d }, (_, f) => `f${f}`),
      baseScore: 0.25,
      trees: Array.from({ length: 120 }, (_, i) => randomTree(rng, d, { maxLeaves: 1 + (i % 60) })),
      params: {},
    };
    parseGbdtModel(model);
    const rows = 3000;
    const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, -0];
    const x = Float64Array.from({ length: rows * d }, () =>
      rng.nextFloat() < 0.15 ? specials[rng.nextInt(specials.length)]! : rng.nextGaussian(),
    );
    expect(sameBits(compileGbdtCode(model).predictMargin(x, rows), predictMarginPlain(model, x, rows))).toBe(
      true,
    );
  });

  it("generated code refuses a model with an out-of-range feature index", () => {
    const bad = JSON.parse(JSON.stringify(fitted.model));
    bad.trees[0].feature[0] = D + 3;
    expect(() => compileGbdtCode(bad)).toThrow(/bad feature index/);
  });

  it("rejects malformed models naming the problem", () => {
    const bad = JSON.parse(JSON.stringify(fitted.model));
    bad.trees[0].left[0] = 0;
    expect(() => parseGbdtModel(bad)).toThrow(/node 0 has invalid children/);
    const extra = { ...JSON.parse(JSON.stringify(fitted.model)), surprise: 1 };
    expect(() => parseGbdtModel(extra)).toThrow();
  });
});

describe("featureImportance", () => {
  it("ranks the informative features above the noise features", () => {
    const imp = featureImportance(fitted.model);
    expect(imp).toHaveLength(D);
    const top = imp.slice(0, 2).map((i) => i.feature);
    expect(top.sort()).toEqual(["f0", "f1"]);
    const totalSplits = fitted.model.trees.reduce((s, t) => s + t.feature.filter((f) => f >= 0).length, 0);
    expect(imp.reduce((s, i) => s + i.splits, 0)).toBe(totalSplits);
  });
});
