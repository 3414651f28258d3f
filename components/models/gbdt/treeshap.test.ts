import { describe, expect, it } from "vitest";
import { Rng } from "../../common/random.js";
import type { GbdtModel, GbdtTree } from "./model.js";
import { predictMarginPlain } from "./model.js";
import { emptyTree, randomTree, syntheticData } from "./testdata.js";
import { trainGbdt } from "./train.js";
import { createTreeShap } from "./treeshap.js";

/** E[f(x) | x_S] with the path-dependent rule: unknown features follow both children by cover. */
function condExpectation(t: GbdtTree, x: Float64Array, known: number, node = 0): number {
  const f = t.feature[node];
  if (f === -1) return t.value[node];
  if (known & (1 << f)) {
    const v = x[f];
    const goLeft = v <= t.threshold[node] || (Number.isNaN(v) && t.defaultLeft[node] === 1);
    return condExpectation(t, x, known, goLeft ? t.left[node] : t.right[node]);
  }
  const l = t.left[node];
  const r = t.right[node];
  return (
    (t.cover[l] * condExpectation(t, x, known, l) + t.cover[r] * condExpectation(t, x, known, r)) /
    t.cover[node]
  );
}

/** Exact Shapley values by enumerating every subset of features. */
function bruteForceShap(model: GbdtModel, x: Float64Array): Float64Array {
  const m = model.numFeatures;
  const v = (s: number) => model.trees.reduce((acc, t) => acc + condExpectation(t, x, s), model.baseScore);
  const fact = [1];
  for (let i = 1; i <= m; i++) fact.push(fact[i - 1] * i);
  const phi = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let s = 0; s < 1 << m; s++) {
      if (s & (1 << i)) continue;
      let size = 0;
      for (let k = 0; k < m; k++) if (s & (1 << k)) size++;
      const weight = (fact[size] * fact[m - size - 1]) / fact[m];
      phi[i] += weight * (v(s | (1 << i)) - v(s));
    }
  }
  return phi;
}

describe("TreeSHAP", () => {
  it("equals brute-force Shapley values on small random trees (<= 6 features)", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const m = 2 + rng.nextInt(5);
      const trees = Array.from({ length: 1 + rng.nextInt(3) }, () =>
        randomTree(rng, m, { maxDepth: 2 + rng.nextInt(4) }),
      );
      const model: GbdtModel = {
        kind: "gbdt",
        formatVersion: 1,
        numFeatures: m,
        featureNames: Array.from({ length: m }, (_, i) => `f${i}`),
        baseScore: rng.nextGaussian(),
        trees,
        params: {},
      };
      // Every algorithm: contribution vectors (the default), plain leaf tables and the recursion.
      for (const shap of [
        createTreeShap(model),
        createTreeShap(model, { vectors: false }),
        createTreeShap(model, { tables: false }),
      ]) {
        const phi = new Float64Array(m + 1);
        for (let row = 0; row < 5; row++) {
          const x = Float64Array.from({ length: m }, () =>
            rng.nextFloat() < 0.15 ? Number.NaN : rng.nextGaussian(),
          );
          shap.explainRow(x, 0, phi);
          const exact = bruteForceShap(model, x);
          for (let i = 0; i < m; i++) expect(Math.abs(phi[i] - exact[i])).toBeLessThan(1e-9);
          expect(Math.abs(phi[m] - condExpectation0(model))).toBeLessThan(1e-9);
          const margin = predictMarginPlain(model, x, 1)[0];
          expect(Math.abs(phi.reduce((s, p) => s + p, 0) - margin)).toBeLessThan(1e-9);
        }
      }
    }
  });

  it("equals brute-force Shapley values on paths of 9 to 12 features", () => {
    const rng = new Rng(23);
    const m = 12;
    const trees = [chainTree(9), chainTree(12), randomTree(rng, m, { maxDepth: 12, maxLeaves: 40 })];
    const model: GbdtModel = {
      kind: "gbdt",
      formatVersion: 1,
      numFeatures: m,
      featureNames: Array.from({ length: m }, (_, i) => `f${i}`),
      baseScore: 0.3,
      trees,
      params: {},
    };
    const shap = createTreeShap(model);
    const plain = createTreeShap(model, { vectors: false });
    const recursion = createTreeShap(model, { tables: false });
    const phi = new Float64Array(m + 1);
    const other = new Float64Array(m + 1);
    const fromPlain = new Float64Array(m + 1);
    for (let row = 0; row < 6; row++) {
      const x = Float64Array.from({ length: m }, (_, i) =>
        rng.nextFloat() < 0.1 ? Number.NaN : 0.1 * i - 0.5 + (rng.nextFloat() - 0.5) * 0.3,
      );
      shap.explainRow(x, 0, phi);
      recursion.explainRow(x, 0, other);
      plain.explainRow(x, 0, fromPlain);
      // Vectors and plain tables hold the same numbers: the same bits.
      expect(Array.from(fromPlain)).toEqual(Array.from(phi));
      const exact = bruteForceShap(model, x);
      for (let i = 0; i < m; i++) {
        expect(Math.abs(phi[i] - exact[i])).toBeLessThan(1e-9);
        expect(Math.abs(phi[i] - other[i])).toBeLessThan(1e-12);
      }
      expect(phi.some((p, i) => i < m && Math.abs(p) > 1e-3)).toBe(true);
    }
  });

  it("is locally accurate on a trained model with missing values", () => {
    const d = 6;
    const data = syntheticData(1500, d, 3, 0.1);
    const { model } = trainGbdt({
      ...data,
      numFeatures: d,
      params: { maxRounds: 80, earlyStoppingRounds: 0 },
    });
    const shap = createTreeShap(model);
    const rows = 400;
    const margins = predictMarginPlain(model, data.x, rows);
    const phi = new Float64Array(d + 1);
    let maxErr = 0;
    for (let r = 0; r < rows; r++) {
      shap.explainRow(data.x, r * d, phi);
      let s = 0;
      for (let i = 0; i <= d; i++) s += phi[i];
      maxErr = Math.max(maxErr, Math.abs(s - margins[r]));
    }
    expect(maxErr).toBeLessThan(1e-9);
    // Noise features (3..5 carry no signal) should matter less than feature 0 on average.
    const meanAbs = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      shap.explainRow(data.x, r * d, phi);
      for (let i = 0; i < d; i++) meanAbs[i] += Math.abs(phi[i]) / rows;
    }
    expect(meanAbs[0]).toBeGreaterThan(3 * meanAbs[4]);
  });

  it("gives the same values from leaf tables and from the recursion on a trained model", () => {
    const d = 8;
    const data = syntheticData(2000, d, 5, 0.1);
    const { model } = trainGbdt({
      ...data,
      numFeatures: d,
      params: { maxRounds: 60, earlyStoppingRounds: 0 },
    });
    const tables = createTreeShap(model);
    const plain = createTreeShap(model, { vectors: false });
    const recursion = createTreeShap(model, { tables: false });
    const a = new Float64Array(d + 1);
    const b = new Float64Array(d + 1);
    const c = new Float64Array(d + 1);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let r = 0; r < 300; r++) {
      tables.explainRow(data.x, r * d, a);
      recursion.explainRow(data.x, r * d, b);
      plain.explainRow(data.x, r * d, c);
      expect(Array.from(c)).toEqual(Array.from(a));
      for (let i = 0; i <= d; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxAbs = Math.max(maxAbs, Math.abs(b[i]));
      }
    }
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(1e-10);
  });

  it("explains a batch of rows, in any order, with explainRow's values bit for bit", () => {
    const d = 16;
    const data = syntheticData(600, d, 9, 0.1);
    const { model } = trainGbdt({
      ...data,
      numFeatures: d,
      params: { maxRounds: 30, earlyStoppingRounds: 0 },
    });
    // A path through 15 features is past the tables' limit: this tree takes the
    // recursion, so the batch mixes both algorithms.
    model.trees.splice(3, 0, chainTree(15));
    const shap = createTreeShap(model);
    const rows = [5, 0, 17, 17, 399, 42, 3];
    const offsets = Int32Array.from(rows, (r) => r * d);
    const batch = new Float64Array(rows.length * (d + 1));
    shap.explainRows(data.x, offsets, rows.length, batch);
    const one = new Float64Array(d + 1);
    const margins = predictMarginPlain(model, data.x, 400);
    rows.forEach((row, r) => {
      shap.explainRow(data.x, row * d, one);
      expect(Array.from(batch.subarray(r * (d + 1), (r + 1) * (d + 1)))).toEqual(Array.from(one));
      expect(Math.abs(one.reduce((s, p) => s + p, 0) - margins[row]!)).toBeLessThan(1e-9);
    });
    expect(() => shap.explainRows(data.x, offsets, rows.length, new Float64Array(rows.length * d))).toThrow(
      RangeError,
    );
  });

  it("refuses a too-short output buffer", () => {
    const data = syntheticData(200, 3, 4);
    const { model } = trainGbdt({
      ...data,
      numFeatures: 3,
      params: { maxRounds: 3, earlyStoppingRounds: 0 },
    });
    expect(() => createTreeShap(model).explainRow(data.x, 0, new Float64Array(3))).toThrow(RangeError);
  });
});

/** Expected margin with no feature known. */
function condExpectation0(model: GbdtModel): number {
  return model.trees.reduce(
    (acc, t) => acc + condExpectation(t, new Float64Array(model.numFeatures), 0),
    model.baseScore,
  );
}

/** Splits on features 0..n-1 down one path (each split's right child a leaf): n unique features on its deepest path. */
function chainTree(n: number): GbdtTree {
  const t = emptyTree();
  const node = (feature: number, left: number, right: number, cover: number, value: number) => {
    t.feature.push(feature);
    t.threshold.push(feature === -1 ? 0 : 0.1 * feature - 0.5);
    t.defaultLeft.push(feature % 2 === 0 ? 1 : 0);
    t.left.push(left);
    t.right.push(right);
    t.value.push(value);
    t.cover.push(cover);
    t.gain.push(0);
  };
  // Split k sits at node 2k: its right child (2k + 1) is a leaf, its left child the next split.
  for (let k = 0; k < n; k++) {
    node(k, 2 * k + 2, 2 * k + 1, n + 1 - k, 0);
    node(-1, -1, -1, 1, 0.01 * (k + 1));
  }
  node(-1, -1, -1, 1, -0.2);
  return t;
}
