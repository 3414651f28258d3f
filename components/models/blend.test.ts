import { describe, expect, it } from "vitest";
import type { Bundle } from "../common/bundle/bundle.js";
import { Rng } from "../common/random.js";
import { testSchema } from "../common/schema/testdata.js";
import type { RowBatch } from "../common/schema/types.js";
import { refitOnAllRows, selectModel } from "../train/select.js";
import { BLEND_MIN_GAIN } from "./blend.js";
import { predictRaw, type StoredModel, TRAINERS } from "./families.js";
import { fitTransform } from "./features/fit.js";
import { transformBatch } from "./features/transform.js";
import { loadPredictor } from "./predictor.js";

const LINEAR = ["x1", "x3", "x4", "x5", "x6"];
const schema = testSchema([
  ...["x1", "x2", "x3", "x4", "x5", "x6"].map((c) => [c, "numeric"] as [string, "numeric"]),
  ["churned", "boolean", "label"],
]);

/**
 * Churn additive in five columns plus a ring in x2: logistic regression cannot
 * see the ring, and with few rows trees approximate the additive part poorly.
 */
function rows(n: number, seed: number): RowBatch {
  const rng = new Rng(seed);
  const cols: Record<string, Float64Array> = {};
  for (const c of ["x1", "x2", ...LINEAR.slice(1)]) cols[c] = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of Object.keys(cols)) cols[c]![i] = rng.nextGaussian();
    let m = 1.5 * (Math.abs(cols.x2![i]!) - 0.8);
    for (const c of LINEAR) m += 0.7 * cols[c]![i]!;
    label[i] = rng.nextFloat() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
  }
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
    ids: Array.from({ length: n }, (_, i) => `c${i}`),
    columns: cols,
    label,
  };
}

const batch = rows(1500, 5);
const fitted = fitTransform(batch, schema);
const matrix = transformBatch(fitted.transform, batch);
const y = batch.label!;
const d = matrix.names.length;

function bundleOf(model: StoredModel): Bundle {
  return {
    format: "churn-bundle/1",
    schema: schema as unknown as Record<string, unknown>,
    transform: fitted.transform as unknown as Record<string, unknown>,
    model,
    calibration: null,
    tiers: { high: 0.7, medium: 0.4 },
    metrics: { roc_auc: 0.8 },
    training: {},
  };
}

describe("the blended model through the inference core", async () => {
  const logistic = await TRAINERS.logistic.fit(matrix.x, y, matrix.names, 1, false);
  const gbdt = await TRAINERS.gbdt.fit(matrix.x, y, matrix.names, 1, false);
  const blend = {
    family: "blend",
    intercept: 0.1,
    members: [
      { weight: 0.6, cv_rounds: null, model: logistic },
      { weight: 0.7, cv_rounds: 20, model: gbdt },
    ],
  } as unknown as StoredModel;
  const p = loadPredictor(bundleOf(blend));
  const pl = loadPredictor(bundleOf(logistic));
  const pg = loadPredictor(bundleOf(gbdt));

  it("scores the weighted sum of its members' margins", () => {
    for (const row of [0, 17, 999]) {
      const expected = 0.1 + 0.6 * pl.margin(matrix.x, row * d) + 0.7 * pg.margin(matrix.x, row * d);
      expect(p.margin(matrix.x, row * d)).toBeCloseTo(expected, 12);
    }
    const probabilities = p.probabilities(matrix.x, 50);
    const raw = predictRaw(blend, matrix.x.subarray(0, 50 * d), 50);
    for (let i = 0; i < 50; i++) expect(raw[i]!).toBeCloseTo(probabilities[i]!, 6);
  });

  it("explains with its members' contributions, weighted: they add up to its margin", () => {
    for (const row of [3, 400]) {
      const e = p.explainRow(matrix.x, row * d);
      const sum = e.bySource.reduce((a, b) => a + b, e.base);
      expect(sum).toBeCloseTo(p.margin(matrix.x, row * d), 8);
      const el = pl.explainRow(matrix.x, row * d);
      const eg = pg.explainRow(matrix.x, row * d);
      e.bySource.forEach((c, j) => {
        expect(c).toBeCloseTo(0.6 * el.bySource[j]! + 0.7 * eg.bySource[j]!, 10);
      });
      // Reasons are the columns raising the blend's risk most (positive weighted contributions).
      const raising = e.bySource.filter((c) => c > 0).length;
      const texts = p.reasons(matrix.x, row * d, (c) => batch.columns[c]![row] as number, 2, {}).texts;
      expect(texts.length).toBe(Math.min(2, raising));
    }
  });

  it("refuses a damaged blend, naming the field", () => {
    const bad = { ...blend, members: [] } as unknown as StoredModel;
    expect(() => loadPredictor(bundleOf(bad))).toThrow(/bundle.model is not a valid blend: members/);
  });
});

describe("the blended candidate in selection", () => {
  it("is cross-validated on the families' out-of-fold predictions and chosen only when it beats the best family", async () => {
    const selection = await selectModel({
      x: matrix.x,
      y,
      featureNames: matrix.names,
      families: ["logistic", "gbdt"],
      folds: 3,
      seed: 1,
      tiers: { high: { top_share: 0.1 }, medium: { top_share: 0.3 } },
      earlyStop: false,
    });
    const byFamily = Object.fromEntries(selection.candidates.map((c) => [c.family, c.cvRocAuc]));
    console.log(`blend test: ${JSON.stringify(byFamily)} -> ${selection.family}`);
    expect(Object.keys(byFamily)).toEqual(["logistic", "gbdt", "blend"]);
    const bestSingle = Math.max(byFamily.logistic!, byFamily.gbdt!);
    expect(selection.family === "blend").toBe(byFamily.blend! >= bestSingle + BLEND_MIN_GAIN);
    // Seeded data with a linear and a ring part: the blend helps here.
    expect(selection.family).toBe("blend");
    const refit = await refitOnAllRows({ selection, x: matrix.x, y, featureNames: matrix.names, seed: 1 });
    const judged = selection.model as unknown as { members: Array<{ weight: number }> };
    const members = (refit as unknown as { members: Array<{ weight: number; model: { family: string } }> })
      .members;
    expect(members.map((m) => m.model.family)).toEqual(["logistic", "gbdt"]);
    expect(members.map((m) => m.weight)).toEqual(judged.members.map((m) => m.weight));
  }, 60_000);
});
