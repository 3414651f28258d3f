import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Bundle } from "../common/bundle/bundle.js";
import { csvField, guardFormula } from "../common/csv/write.js";
import { selectRows } from "../common/data/rows.js";
import { Rng } from "../common/random.js";
import { decodeRawBatch, rawBatchOf, readRawBatches } from "../common/schema/raw-batch.js";
import { arrowChunks, byteStream } from "../common/schema/testdata.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { fitTransform } from "../models/features/fit.js";
import { transformBatch } from "../models/features/transform.js";
import { trainGbdt } from "../models/gbdt/train.js";
import { fitLogistic } from "../models/logistic/logistic.js";
import { formatProbability, loadPredictor } from "../models/predictor.js";
import {
  ByteWriter,
  passthroughText,
  type ScoreOptions,
  ScoresCsvWriter,
  scoreBatchCsv,
  scoresHeader,
} from "./scores-csv.js";

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
    signup: Float64Array.from({ length: n }, (_, i) =>
      i % 5 === 0 ? Number.NaN : Date.UTC(2024, i % 12, 1),
    ),
    vip: Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? Number.NaN : i % 2)),
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
    { name: "signup", type: "date", role: "passthrough", missingTokens: [] },
    { name: "vip", type: "boolean", role: "passthrough", missingTokens: [] },
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
const logisticPredictor = predictor;
const options = {
  reasons: 2,
  reasonsFor: ["high", "medium"] as const,
  passthrough: ["region"],
  formulaGuard: true,
  labels: { calls: "calls to support" },
};

describe("scores.csv rows", () => {
  it("prints the DESIGN header and quotes fields that need it", () => {
    expect(scoresHeader(schema, ["region"], 2)).toBe(
      "id,churn_probability,risk_tier,reason_1,reason_2,reason_codes,model_version,region\n",
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

  it("fills reasons only for the configured tiers: sentences with labels, then their codes", () => {
    const lines = scoreBatchCsv(predictor, batch, options).trimEnd().split("\n");
    let withReasons = 0;
    for (const line of lines) {
      const [tier, ...reasons] = line.match(/,(high|medium|low),([^,]*),([^,]*),([^,]*),/)!.slice(1);
      if (tier === "low") expect(reasons).toEqual(["", "", ""]);
      else {
        withReasons++;
        // The label of churn.yaml for calls, the column name (capitalised) for the others.
        expect(reasons[0]).toMatch(
          /^(Calls to support: \d+ \(typical [\d.]+\)|Tenure: (\d+ \(typical [\d.]+\)|missing)|Plan: .+)$/,
        );
        expect(reasons[2]).toMatch(/^(calls|tenure|plan):\+\d+\.\d\d(;(calls|tenure|plan):\+\d+\.\d\d)*$/);
      }
    }
    expect(withReasons).toBeGreaterThan(0);
    // Row 7 has the most calls (9; the training median is 4.5): calls pushes towards churn.
    const row = selectRows(batch, [7]);
    const x = predictor.encodeBatch(row);
    const value = (c: string) => (row.columns[c]! as ArrayLike<string | number | null>)[0] ?? null;
    const reasons = predictor.reasons(x, 0, value, 3, options.labels);
    expect(reasons.texts).toContain("Calls to support: 9 (typical 4.5)");
    // The order is that of the contributions, largest first, positive only.
    const { bySource } = predictor.explainRow(x, 0);
    const expected = predictor.sources
      .map((s, j) => [s, bySource[j]!] as const)
      .filter(([, c]) => c > 0)
      .sort((a, b) => b[1] - a[1]);
    expect(reasons.codes.split(";").map((c) => c.split(":")[0])).toEqual(expected.map(([s]) => s));
    expect(reasons.texts).toHaveLength(expected.length);
  });
});

/** scores.csv lines of a decoded batch, spelled out field by field from DESIGN: the writer's oracle. */
function expectedLines(b: RowBatch, o: ScoreOptions, predictor = logisticPredictor): string {
  const d = predictor.numFeatures;
  const x = predictor.encodeBatch(b);
  const p = predictor.probabilities(x, b.numRows);
  let out = "";
  for (let i = 0; i < b.numRows; i++) {
    const tier = predictor.tierOf(p[i]!);
    const fields = [csvField(b.ids[i]!), formatProbability(p[i]!), tier];
    const value = (c: string) => (b.columns[c]! as ArrayLike<string | number | null>)[i] ?? null;
    const guard = (text: string) => csvField(o.formulaGuard ? guardFormula(text) : text);
    const { texts, codes } =
      o.reasons > 0 && o.reasonsFor.includes(tier)
        ? predictor.reasons(x, i * d, value, o.reasons, o.labels)
        : { texts: [], codes: "" };
    for (let r = 0; r < o.reasons; r++) fields.push(texts[r] === undefined ? "" : guard(texts[r]!));
    fields.push(guard(codes));
    fields.push(predictor.version);
    for (const name of o.passthrough) fields.push(passthroughText(schema, name, value(name), o.formulaGuard));
    out += `${fields.join(",")}\n`;
  }
  return out;
}

/**
 * Rows to score: ids that need quoting, are not ASCII or start like a
 * formula, plan values never seen in training, and region texts that start
 * like a formula (or are numbers that only look so).
 */
function scoringBatch(rows: number, first: number): RowBatch {
  const ids = ['a,"quoted"', "Zürich\nNord", "ü", "x\r", "plain", "=id"];
  const plans = ["basic", null, "premium", "Ölpreis", "basic"];
  const pick = <T>(values: T[], i: number) => values[(first + i) % values.length]!;
  return {
    numRows: rows,
    lines: Uint32Array.from({ length: rows }, (_, i) => first + i + 2),
    ids: Array.from({ length: rows }, (_, i) => `${pick(ids, i)}${first + i}`),
    columns: {
      calls: Float64Array.from({ length: rows }, (_, i) => ((first + i) * 7) % 10),
      tenure: Float64Array.from({ length: rows }, (_, i) =>
        (first + i) % 9 === 0 ? Number.NaN : (first + i) % 11,
      ),
      plan: Array.from({ length: rows }, (_, i) => pick(plans, i)),
      region: Array.from({ length: rows }, (_, i) =>
        i % 3 === 0
          ? null
          : pick(
              ["north", "süd, ost", 'q"', '=HYPERLINK("x")', "-3.5", "+cmd|' /C calc'!A0", "@ü", "\tx"],
              i,
            ),
      ),
      signup: Float64Array.from({ length: rows }, (_, i) =>
        i % 5 === 0 ? Number.NaN : Date.UTC(2024, i % 12, 3),
      ),
      vip: Float64Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? Number.NaN : i % 2)),
    },
  };
}

describe("ScoresCsvWriter", () => {
  const variants: ScoreOptions[] = [
    { reasons: 0, reasonsFor: [], passthrough: [], formulaGuard: true, labels: {} },
    { reasons: 3, reasonsFor: [], passthrough: ["vip"], formulaGuard: true, labels: {} },
    {
      reasons: 2,
      reasonsFor: ["high", "medium", "low"],
      passthrough: ["region", "signup", "vip", "plan"],
      formulaGuard: true,
      labels: { plan: "=plan" },
    },
    {
      reasons: 2,
      reasonsFor: ["high", "medium", "low"],
      passthrough: ["region", "signup", "vip", "plan"],
      formulaGuard: false,
      labels: { plan: "=plan" },
    },
  ];

  it.each(variants)(
    "writes from Arrow buffers exactly the lines spelled out from the decoded rows (%o)",
    async (o) => {
      const batches = [scoringBatch(45, 0), scoringBatch(13, 45)];
      const bytes = await arrowChunks(schema, batches);
      const writer = new ScoresCsvWriter(predictor, o);
      let got = "";
      let want = "";
      for await (const [raw] of readRawBatches(byteStream(bytes))) {
        got += new TextDecoder().decode(writer.write(raw!));
        want += expectedLines(decodeRawBatch(raw!), o);
      }
      expect(got).toBe(want);
      expect(want.split(`,${predictor.version}`)).toHaveLength(45 + 13 + 1);
      // The quoted id and the non-ASCII one survive byte for byte.
      expect(got).toContain('"a,""quoted""0",');
      expect(got).toContain('"Zürich\nNord1",');
      // And a batch of decoded rows (scoreBatchCsv) gives the same text.
      expect(batches.map((b) => scoreBatchCsv(predictor, b, o)).join("")).toBe(got);
    },
  );

  it("writes a GBDT model's reasons, explained in batches, exactly as row by row", () => {
    // 2,500 rows, all with reasons: more than one TreeSHAP batch (1,024 rows).
    const b = scoringBatch(2500, 0);
    const train = transformBatch(transform, b);
    const y = Float64Array.from({ length: b.numRows }, (_, i) =>
      ((i * 7) % 10) - ((i * 3) % 11) / 2 > 2 ? 1 : 0,
    );
    const { model: g } = trainGbdt({
      x: train.x,
      y,
      numFeatures: train.names.length,
      featureNames: train.names,
      params: { maxRounds: 20, earlyStoppingRounds: 0 },
    });
    const gbdt = loadPredictor({ ...bundle, model: { family: "gbdt", ...g } as unknown as Bundle["model"] });
    const o: ScoreOptions = { ...variants[2]!, reasons: 3 };
    const text = new TextDecoder().decode(new ScoresCsvWriter(gbdt, o).write(rawBatchOf(b)));
    expect(text).toBe(expectedLines(b, o, gbdt));
    expect(text.match(/:\+\d/g)!.length).toBeGreaterThan(b.numRows);
  });

  it("keeps the same text when a raw batch is rebuilt from decoded rows (rawBatchOf)", () => {
    const b = scoringBatch(30, 7);
    const o = variants[2]!;
    const text = new TextDecoder().decode(new ScoresCsvWriter(predictor, o).write(rawBatchOf(b)));
    expect(text).toBe(expectedLines(b, o));
  });

  it("guards passthrough texts that start like a formula, never ids or numbers; off keeps the text", async () => {
    const cases: Array<[id: string, region: string, guarded: string, raw: string]> = [
      ["c1", '=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"', '"=HYPERLINK(""x"")"'],
      ["c2", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0"],
      ["c3", "@ü", "'@ü", "@ü"],
      ["c4", "\tx", "'\tx", "\tx"],
      ["c5", "-3.5", "-3.5", "-3.5"],
      ["=c6", "+1", "+1", "+1"],
      ["-c7", "north", "north", "north"],
    ];
    const b = scoringBatch(cases.length, 0);
    b.ids = cases.map(([id]) => id);
    b.columns.region = cases.map(([, region]) => region);
    const bytes = await arrowChunks(schema, [b]);
    const regions = async (formulaGuard: boolean) => {
      const o = { reasons: 0, reasonsFor: [], passthrough: ["region"], formulaGuard, labels: {} };
      const writer = new ScoresCsvWriter(predictor, o);
      let out = "";
      for await (const [raw] of readRawBatches(byteStream(bytes)))
        out += new TextDecoder().decode(writer.write(raw!));
      expect(out).toBe(expectedLines(b, o));
      return out
        .trimEnd()
        .split("\n")
        .map((line) => line.split(`,${predictor.version},`));
    };
    const on = await regions(true);
    expect(on.map(([head]) => head!.split(",")[0])).toEqual(cases.map(([id]) => id));
    expect(on.map(([, region]) => region)).toEqual(cases.map(([, , guarded]) => guarded));
    expect((await regions(false)).map(([, region]) => region)).toEqual(cases.map(([, , , raw]) => raw));
  });

  it("names the missing passthrough column", () => {
    const o = { reasons: 0, reasonsFor: [], passthrough: ["nowhere"], formulaGuard: true, labels: {} };
    expect(() => scoreBatchCsv(predictor, scoringBatch(3, 0), o)).toThrow(/no passthrough column "nowhere"/);
  });
});

/** The doubles next to v (v > 0). */
function neighbours(v: number): number[] {
  const f = new Float64Array([v]);
  const bits = new BigInt64Array(f.buffer);
  const out: number[] = [];
  for (const delta of [-2n, -1n, 1n, 2n]) {
    bits[0] = new BigInt64Array(new Float64Array([v]).buffer)[0]! + delta;
    out.push(f[0]!);
  }
  return out;
}

describe("ByteWriter.probability", () => {
  it("writes exactly formatProbability's text, also next to rounding ties", () => {
    const rng = new Rng(11);
    const values = [0, 1, -0, 0.5, 1e-7, 5e-7, 0.0000005, 0.9999995, 0.1234565, Number.NaN, 1.5, -0.25];
    for (let i = 0; i < 200_000; i++) values.push(rng.nextFloat());
    for (let i = 0; i < 20_000; i++) {
      // Decimal ties k.5e-6: the values where p * 1e6 rounding could pick the wrong neighbour.
      const tie = (rng.nextInt(1_000_000) + 0.5) / 1e6;
      values.push(tie, ...neighbours(tie));
    }
    const w = new ByteWriter(16);
    for (const v of values) {
      w.probability(v);
      w.byte(10);
    }
    const got = new TextDecoder().decode(w.take()).split("\n");
    got.pop();
    const want = values.map(formatProbability);
    const wrong = got.flatMap((g, i) => (g === want[i] ? [] : [`${values[i]}: ${g} != ${want[i]}`]));
    expect(wrong).toEqual([]);
    expect(got).toHaveLength(values.length);
  });
});
