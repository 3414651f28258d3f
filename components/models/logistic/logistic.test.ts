import { describe, expect, it } from "vitest";
import { explainLinear } from "./explain.js";
import {
  classWeights,
  fitLogistic,
  logisticMargin,
  parseLogisticModel,
  predictLogistic,
  sigmoid,
} from "./logistic.js";

// 40 rows × 3 features and the expected coefficients from scikit-learn 1.9.1:
// numpy default_rng(7), X = round(normal(40,3), 3), y ~ Bernoulli(σ(0.8x0 − 1.2x1 + 0.3x2 − 1));
// LogisticRegression(C, class_weight, solver="newton-cholesky", tol=1e-12).
const X = [
  [0.001, 0.299, -0.274],
  [-0.891, -0.455, -0.992],
  [0.06, 1.34, -0.492],
  [-0.62, 0.49, 0.357],
  [0.105, -0.93, -0.029],
  [0.695, -1.344, -0.458],
  [-1.901, -1.29, -1.842],
  [-0.235, -1.267, 0.271],
  [0.157, -0.187, -2.517],
  [-0.539, -0.049, 0.113],
  [-1.53, -0.478, -0.979],
  [-0.809, 1.061, -0.808],
  [-0.033, 0.884, -0.584],
  [-0.112, 0.11, 0.064],
  [-1.225, 0.076, 1.359],
  [-1.547, 0.859, 0.119],
  [-0.641, 2.0, 0.762],
  [-1.199, 0.075, 0.577],
  [-0.189, 0.683, -0.067],
  [0.667, 1.439, -0.676],
  [0.203, -0.463, 0.127],
  [-1.187, -0.579, -0.196],
  [0.899, 1.145, -1.324],
  [-0.795, 0.647, -1.992],
  [-0.463, -0.097, 1.257],
  [0.689, -0.327, -0.369],
  [-0.25, 1.524, -0.428],
  [-0.304, 0.353, -0.121],
  [-0.197, -1.114, -0.012],
  [-0.444, 1.166, 0.653],
  [-0.024, 0.668, -0.34],
  [1.052, -0.005, 0.583],
  [-1.291, 0.347, -1.688],
  [-2.035, -0.304, -0.9],
  [0.164, 2.245, -0.832],
  [-0.624, 0.205, 0.493],
  [-0.176, -0.206, 0.702],
  [0.52, -1.034, -0.079],
  [0.035, -1.054, 0.26],
  [-0.858, 0.972, 0.193],
];
const y = [
  0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 0,
];
const x = Float64Array.from(X.flat());
const names = ["a", "b", "c"];

describe("fitLogistic against scikit-learn", () => {
  it.each([
    {
      classWeight: "none",
      C: 1,
      coef: [1.177651742385731, -1.779697298413323, 0.16455478966096218],
      b: -1.871894164639609,
    },
    {
      classWeight: "none",
      C: 0.1,
      coef: [0.31643051714597553, -0.5059380812255703, 0.07343593149154463],
      b: -1.5938290806946802,
    },
    {
      classWeight: "balanced",
      C: 1,
      coef: [1.48118864866586, -2.1048311802153554, 0.2134550077971446],
      b: -0.7495981166309722,
    },
    {
      classWeight: "balanced",
      C: 0.1,
      coef: [0.4776350261286388, -0.7426064916391978, 0.11274235849210133],
      b: -0.17930243649937477,
    },
  ] as const)("class_weight=$classWeight C=$C", ({ classWeight, C, coef, b }) => {
    const model = fitLogistic(x, y, names, { C, classWeight });
    for (let j = 0; j < 3; j++) expect(Math.abs(model.coefficients[j] - coef[j])).toBeLessThan(1e-4);
    expect(Math.abs(model.intercept - b)).toBeLessThan(1e-4);
  });

  it("is deterministic and serialisable", () => {
    const a = fitLogistic(x, y, names, { classWeight: "balanced" });
    const b = JSON.parse(JSON.stringify(fitLogistic(x, y, names, { classWeight: "balanced" })));
    expect(b).toEqual(a);
    expect(Array.from(predictLogistic(b, x))).toEqual(Array.from(predictLogistic(a, x)));
  });

  it("stays finite on perfectly separable data (the penalty bounds it)", () => {
    const model = fitLogistic(Float64Array.of(-2, -1, 1, 2), [0, 0, 1, 1], ["s"], { C: 1 });
    expect(Number.isFinite(model.coefficients[0])).toBe(true);
    expect(model.coefficients[0]).toBeGreaterThan(0);
  });

  it("balanced weights give each class half the total weight", () => {
    const w = classWeights([1, 0, 0, 0], "balanced");
    expect(Array.from(w)).toEqual([2, 2 / 3, 2 / 3, 2 / 3]);
  });
});

describe("sigmoid", () => {
  it.each([
    [0, 0.5],
    [800, 1],
    [-800, 0],
  ])("σ(%d) = %d without overflow", (z, p) => {
    expect(sigmoid(z)).toBe(p);
  });
});

describe("explainLinear", () => {
  const model = fitLogistic(x, y, names, { classWeight: "balanced" });
  it.each([0, 5, 39])("row %i: contributions plus base equal the log-odds", (row) => {
    const a = explainLinear(model, x, row * 3);
    const total = a.base + a.contributions.reduce((s, c) => s + c, 0);
    expect(Math.abs(total - logisticMargin(model, x, row * 3))).toBeLessThan(1e-12);
    for (let j = 0; j < 3; j++) {
      expect(a.contributions[j]).toBe(model.coefficients[j] * (x[row * 3 + j] - model.baseline[j]));
    }
  });
});

describe("parseLogisticModel", () => {
  const model = fitLogistic(x, y, names);
  it("accepts a fitted model after a JSON round trip", () => {
    expect(parseLogisticModel(JSON.parse(JSON.stringify(model)))).toEqual(model);
  });
  it.each([
    ["a short coefficient list", { coefficients: [1, 2] }, /coefficients: must have 3 entries/],
    ["a null intercept (NaN written as JSON)", { intercept: null }, /intercept/],
    ["another family", { family: "gbdt" }, /family/],
  ])("rejects %s", (_what, change, message) => {
    expect(() => parseLogisticModel({ ...model, ...change })).toThrow(message);
  });
});
