import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Bundle } from "../common/bundle/bundle.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { fitTransform } from "../feature/fit.js";
import { transformBatch } from "../feature/transform.js";
import { fitLogistic } from "../train/logistic.js";
import { selectRows } from "../train/rows.js";
import { csvField, formatProbability, loadPredictor, scoreBatchCsv, scoresHeader } from "./predictor.js";
import { shardRange } from "./spec.js";

// 40 rows: churn rises with `calls` and falls with `tenure`; `plan` is noise.
const n = 40;
const calls = Float64Array.from({ length: n }, (_, i) => (i * 7) % 10);
const tenure = Float64Array.from({ length: n }, (_, i) => (i * 3) % 11);
const label = Uint8Array.from({ length: n }, (_, i) => (calls[i]! - tenure[i]! / 2 + (i % 3) > 4 ? 1 : 0));
const batch: RowBatch = {
  numRows: n,
  lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
  ids: Array.from({ length: n }, (_, i) => (i === 0 ? 'a,"quoted"' : `c${i}`)),
  columns: {
    calls,
    tenure,
    plan: Array.from({ length: n }, (_, i) => (i % 2 ? "basic" : null)),
    region: Array.from({ length: n }, (_, i) => (i % 2 ? "north" : "south, east")),
  },
  label,
};
const schema: DatasetSchema = {
  version: 1,
  columns: [
    { name: "id", type: "categorical", role: "id", missingTokens: [] },
    { name: "calls", type: "numeric", role: "feature", missingTokens: [] },
    { name: "tenure", type: "numeric", role: "feature", missingTokens: [] },
    { name: "plan", type: "categorical", role: "feature", missingTokens: [] },
    { name: "region", type: "categorical", role: "passthrough", missingTokens: [] },
  ],
  idColumn: "id",
  generatedId: false,
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};
const { transform } = fitTransform(batch, schema, { minLevelCount: 1 });
const m = transformBatch(transform, batch);
const model = fitLogistic(m.x, label, m.names, { classWeight: "balanced" });
const bundle: Bundle = {
  format: BUNDLE_FORMAT,
  schema: schema as unknown as Record<string, unknown>,
  transform: transform as unknown as Record<string, unknown>,
  model: model as unknown as Bundle["model"],
  calibration: null,
  tiers: { high: 0.8, medium: 0.5 },
  metrics: { roc_auc: 1 },
  training: {},
};
const predictor = loadPredictor(bundle);
const options = { reasons: 2, reasonsFor: ["high", "medium"] as const, passthrough: ["region"] };

describe("scores.csv rows", () => {
  it("prints the DESIGN header and quotes fields that need it", () => {
    expect(scoresHeader(schema, ["region"], 2)).toBe(
      "id,churn_probability,risk_tier,reason_1,reason_2,model_version,region\n",
    );
    expect(csvField('a,"q"')).toBe('"a,""q"""');
    expect(csvField("plain")).toBe("plain");
    expect(formatProbability(0.1234567)).toBe("0.123457");
  });

  it("gives each row the same text alone as in the batch", () => {
    const whole = scoreBatchCsv(predictor, batch, options);
    let alone = "";
    for (let i = 0; i < n; i++) alone += scoreBatchCsv(predictor, selectRows(batch, [i]), options);
    expect(alone).toBe(whole);
    const first = whole.split("\n")[0]!;
    expect(first.startsWith('"a,""quoted"""')).toBe(true);
    expect(first.endsWith(`,${predictor.version},"south, east"`)).toBe(true);
  });

  it("fills reasons only for the configured tiers, largest push first, with words for numbers", () => {
    const lines = scoreBatchCsv(predictor, batch, options).trimEnd().split("\n");
    let withReasons = 0;
    for (const line of lines) {
      const tier = line.match(/,(high|medium|low),/)![1];
      const reasons = line.match(/,(high|medium|low),([^,]*),([^,]*),/)!.slice(2);
      if (tier === "low") expect(reasons).toEqual(["", ""]);
      else {
        withReasons++;
        expect(reasons[0]).toMatch(
          /^(calls=\d+ \((low|typical|high)\)|tenure=\d+ \((low|typical|high)\)|plan=.+)$/,
        );
      }
    }
    expect(withReasons).toBeGreaterThan(0);
    // Row 7 has the most calls (9, above the third quartile): calls pushes towards churn.
    const row = selectRows(batch, [7]);
    const x = predictor.encodeBatch(row);
    const value = (c: string) => (row.columns[c]! as ArrayLike<string | number | null>)[0] ?? null;
    const reasons = predictor.reasons(x, 0, value, 3);
    expect(reasons).toContain("calls=9 (high)");
    // The order is that of the contributions, largest first, positive only.
    const { bySource } = predictor.explainRow(x, 0);
    const expected = predictor.sources
      .map((s, j) => [s, bySource[j]!] as const)
      .filter(([, c]) => c > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([s]) => s);
    expect(reasons.map((r) => r.split("=")[0])).toEqual(expected);
  });
});

describe("shardRange", () => {
  it.each([
    [10, 3],
    [2, 5],
    [7, 7],
    [0, 2],
  ])("covers %i batches in %i contiguous shards exactly once", (batches, count) => {
    const seen: number[] = [];
    for (let s = 0; s < count; s++) {
      const [from, to] = shardRange(batches, s, count);
      for (let b = from; b < to; b++) seen.push(b);
    }
    expect(seen).toEqual(Array.from({ length: batches }, (_, i) => i));
  });
});
