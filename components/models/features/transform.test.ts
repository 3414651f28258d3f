import { describe, expect, it } from "vitest";
import { InputError } from "../../common/errors.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "../../common/schema/types.js";
import { fitTransform, numericStats } from "./fit.js";
import { parseFeatureTransform } from "./schema.js";
import {
  contributionsBySource,
  describeValue,
  type FeatureTransform,
  type RawValue,
  transformBatch,
  transformRow,
} from "./transform.js";

type Col = Pick<ColumnSchema, "name" | "type" | "role"> & Partial<ColumnSchema>;

function schemaOf(cols: Col[]): DatasetSchema {
  return {
    version: 1,
    columns: cols.map((c) => ({ missingTokens: [""], ...c })),
    idColumn: "id",
    generatedId: false,
    label: { column: "churn", positive: "1" },
    source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
  };
}

function batchOf(columns: RowBatch["columns"], label?: number[]): RowBatch {
  const n = Object.values(columns)[0].length;
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
    ids: Array.from({ length: n }, (_, i) => `c${i}`),
    columns,
    label: label ? Uint8Array.from(label) : undefined,
  };
}

const N = Number.NaN;

// A small training set: one numeric column with a missing value, one
// categorical with a missing value, a boolean, a date, plus columns every
// role that must be ignored.
const schema = schemaOf([
  { name: "id", type: "categorical", role: "id" },
  { name: "age", type: "numeric", role: "feature" },
  { name: "plan", type: "categorical", role: "feature" },
  { name: "promo", type: "boolean", role: "feature" },
  { name: "since", type: "date", role: "feature" },
  { name: "email", type: "categorical", role: "pii" },
  { name: "region", type: "categorical", role: "passthrough" },
  { name: "notes", type: "numeric", role: "exclude" },
  { name: "churn", type: "categorical", role: "label" },
]);
const day = 86_400_000;
const train = batchOf(
  {
    id: ["a", "b", "c", "d", "e", "f"],
    age: Float64Array.of(20, 30, N, 40, 50, 60),
    plan: ["basic", "pro", "basic", null, "pro", "basic"],
    promo: Float64Array.of(1, 0, 1, 1, N, 0),
    since: Float64Array.of(0, 10 * day, 20 * day, 30 * day, 40 * day, N),
    email: ["x@y", "x@y", "x@y", "x@y", "x@y", "x@y"],
    region: ["n", "s", "n", "s", "n", "s"],
    notes: Float64Array.of(1, 2, 3, 4, 5, 6),
    churn: ["0", "1", "0", "1", "0", "1"],
  },
  [0, 1, 0, 1, 1, 0],
);
const fitted = fitTransform(train, schema, { minLevelCount: 1 });
const t = fitted.transform;

describe("fitTransform", () => {
  it("uses only feature columns and names every output after its source", () => {
    expect(t.encoders.map((e) => e.column)).toEqual(["age", "plan", "promo", "since"]);
    expect(t.features.map((f) => f.name)).toEqual([
      "age",
      "age__missing",
      "plan=basic",
      "plan=pro",
      "plan=__unseen__",
      "plan=__missing__",
      "promo",
      "promo__missing",
      "since__year",
      "since__month",
      "since__day_of_week",
      "since__days_since_epoch",
      "since__missing",
    ]);
    expect(new Set(t.features.map((f) => f.source))).toEqual(new Set(["age", "plan", "promo", "since"]));
  });

  it("imputes the training median and scales by the IQR", () => {
    // age values 20 30 40 50 60: median 40, q1 30, q3 50
    const row = transformRow(t, { age: 50, plan: "pro", promo: 1, since: 0 });
    expect(row[0]).toBe((50 - 40) / 20);
    expect(row[1]).toBe(0);
    const missing = transformRow(t, { age: null, plan: "pro", promo: 1, since: 0 });
    expect(missing[0]).toBe(0);
    expect(missing[1]).toBe(1);
  });

  it("is plain JSON: a round trip through JSON gives the same numbers", () => {
    const copy = JSON.parse(JSON.stringify(t)) as FeatureTransform;
    const a = transformBatch(t, train).x;
    const b = transformBatch(copy, train).x;
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it("adds no missing indicator for columns complete in training", () => {
    const r = fitTransform(
      batchOf({ age: Float64Array.of(1, 2, 3, 4) }, [0, 1, 0, 1]),
      schemaOf([{ name: "age", type: "numeric", role: "feature" }]),
    );
    expect(r.transform.features.map((f) => f.name)).toEqual(["age"]);
    // a missing value at scoring time is imputed silently
    expect(Array.from(transformRow(r.transform, { age: Number.NaN }))).toEqual([0]);
  });

  it("guards a zero IQR", () => {
    const s = numericStats(Float64Array.of(0, 0, 0, 0, 0, 0, 0, 0, 5, 10));
    expect(s.q3 - s.q1).toBe(0);
    expect(s.scale).toBeGreaterThan(0);
    expect(numericStats(Float64Array.of(3)).scale).toBe(1);
  });
});

describe("categorical encoding", () => {
  const plan = (value: RawValue) =>
    Array.from(transformRow(t, { age: 40, plan: value, promo: 1, since: 0 }).slice(2, 6));
  it.each([
    ["a seen level", "basic", [1, 0, 0, 0]],
    ["another seen level", "pro", [0, 1, 0, 0]],
    ["an unseen level", "platinum", [0, 0, 1, 0]],
    ["a missing value", null, [0, 0, 0, 1]],
    ["a level named like an Object property", "constructor", [0, 0, 1, 0]],
  ])("one-hot of %s", (_what, value, expected) => {
    expect(plan(value)).toEqual(expected);
  });

  it("sends rare levels to the unseen bucket", () => {
    const r = fitTransform(
      batchOf({ c: ["a", "a", "a", "b"] }, [0, 1, 0, 1]),
      schemaOf([{ name: "c", type: "categorical", role: "feature" }]),
      { minLevelCount: 2 },
    );
    expect(r.transform.features.map((f) => f.name)).toEqual(["c=a", "c=__unseen__", "c=__missing__"]);
    expect(Array.from(transformRow(r.transform, { c: "b" }))).toEqual([0, 1, 0]);
  });

  it("frequency-encodes high-cardinality columns, unseen values as 0", () => {
    const values = ["x", "x", "y", "z", null, "x"];
    const r = fitTransform(
      batchOf({ c: values }, [0, 1, 0, 1, 0, 1]),
      schemaOf([{ name: "c", type: "categorical", role: "feature" }]),
      { maxOneHotLevels: 2 },
    );
    expect(r.transform.features.map((f) => f.name)).toEqual(["c__frequency", "c__missing"]);
    expect(Array.from(transformRow(r.transform, { c: "x" }))).toEqual([3 / 6, 0]);
    expect(Array.from(transformRow(r.transform, { c: "new" }))).toEqual([0, 0]);
    expect(Array.from(transformRow(r.transform, { c: null }))).toEqual([0, 1]);
  });
});

describe("booleans and dates", () => {
  it("encodes booleans as 0/1 and fills missing with the training majority", () => {
    // promo 1,0,1,1,_,0: majority 1
    const promo = (v: RawValue) =>
      Array.from(transformRow(t, { age: 40, plan: "pro", promo: v, since: 0 }).slice(6, 8));
    expect(promo(1)).toEqual([1, 0]);
    expect(promo(0)).toEqual([0, 0]);
    expect(promo(null)).toEqual([1, 1]);
  });

  it("derives date parts in UTC", () => {
    // 2024-03-15 (a Friday), scaled back with the stored stats
    const ms = Date.UTC(2024, 2, 15);
    const row = transformRow(t, { age: 40, plan: "pro", promo: 1, since: ms });
    const e = t.encoders[3];
    if (e.kind !== "date") throw new Error("expected a date encoder");
    const raw = e.parts.map((_, p) => row[8 + p] * e.stats[p].scale + e.stats[p].median);
    expect(raw[0]).toBeCloseTo(2024, 9);
    expect(raw[1]).toBeCloseTo(3, 9);
    expect(raw[2]).toBeCloseTo(5, 9);
    expect(raw[3]).toBeCloseTo(ms / day, 6);
  });
});

describe("identity: one row alone equals the same row in a batch", () => {
  it("gives bit-identical numbers for every row", () => {
    const whole = transformBatch(t, train);
    for (let i = 0; i < train.numRows; i++) {
      const row: Record<string, RawValue> = {};
      for (const [name, col] of Object.entries(train.columns)) row[name] = col[i];
      const alone = transformRow(t, row);
      const single = transformBatch(t, {
        numRows: 1,
        lines: Uint32Array.of(i + 2),
        ids: [train.ids[i]],
        columns: Object.fromEntries(
          Object.entries(train.columns).map(([k, c]) => [
            k,
            c instanceof Float64Array ? c.slice(i, i + 1) : c.slice(i, i + 1),
          ]),
        ),
      }).x;
      const inBatch = whole.x.subarray(i * whole.numFeatures, (i + 1) * whole.numFeatures);
      expect(Buffer.from(alone.buffer).equals(Buffer.from(Float64Array.from(inBatch).buffer))).toBe(true);
      expect(Buffer.from(single.buffer).equals(Buffer.from(alone.buffer))).toBe(true);
    }
  });
});

describe("column-wise batch encoding", () => {
  it("treats non-finite numbers as missing exactly as the row path does", () => {
    const odd = {
      ...train,
      columns: { ...train.columns, age: Float64Array.of(Infinity, -Infinity, N, 0, -0, 1e308) },
    };
    const whole = transformBatch(t, odd);
    for (let i = 0; i < odd.numRows; i++) {
      const row: Record<string, RawValue> = {};
      for (const [name, col] of Object.entries(odd.columns)) row[name] = col[i];
      const alone = transformRow(t, row);
      const inBatch = Float64Array.from(whole.x.subarray(i * whole.numFeatures, (i + 1) * whole.numFeatures));
      expect(Buffer.from(inBatch.buffer).equals(Buffer.from(alone.buffer))).toBe(true);
    }
    // Infinity is missing: value 0 and the missing indicator set, like NaN.
    expect(Array.from(whole.x.subarray(0, 2))).toEqual(
      Array.from(whole.x.subarray(2 * whole.numFeatures, 2 * whole.numFeatures + 2)),
    );
  });
});

describe("bad input", () => {
  it("names the column and line for a wrong value type", () => {
    const bad = { ...train, columns: { ...train.columns, plan: [1, 2, 3, 4, 5, 6] as unknown as string[] } };
    expect(() => transformBatch(t, bad)).toThrow(/line 2: column "plan" must be text/);
  });
  it("reports a missing column", () => {
    expect(() => transformRow(t, { age: 1, plan: "a", promo: 1 })).toThrow(InputError);
    expect(() => transformRow(t, { age: 1, plan: "a", promo: 1 })).toThrow(/"since"/);
  });
});

describe("explanation helpers", () => {
  it("sums contributions per source column", () => {
    const contributions = t.features.map((_, i) => i + 1);
    // age: 1+2, plan: 3..6, promo: 7+8, since: 9..13
    expect(Array.from(contributionsBySource(t, contributions))).toEqual([3, 18, 15, 55]);
  });
  it("describes numeric values against the training quartiles", () => {
    expect(describeValue(t, "age", 25)).toBe("low");
    expect(describeValue(t, "age", 40)).toBe("typical");
    expect(describeValue(t, "age", 55)).toBe("high");
    expect(describeValue(t, "age", null)).toBe("missing");
    expect(describeValue(t, "plan", "pro")).toBeNull();
  });
});

describe("parseFeatureTransform", () => {
  it("accepts a fitted transform after a JSON round trip", () => {
    expect(parseFeatureTransform(JSON.parse(JSON.stringify(t)))).toEqual(t);
  });
  it.each([
    [
      "a zero scale",
      (c: FeatureTransform) => ((c.encoders[0] as { stats: { scale: number } }).stats.scale = 0),
      /encoders\[0\]\.stats\.scale: must not be 0/,
    ],
    [
      "a feature list that does not match",
      (c: FeatureTransform) => c.features.pop(),
      /features: lists 12 features but the encoders produce 13/,
    ],
    ["an unknown key", (c: FeatureTransform) => Object.assign(c, { extra: 1 }), /extra/],
  ])("rejects %s, naming the field", (_what, damage, message) => {
    const copy = JSON.parse(JSON.stringify(t)) as FeatureTransform;
    damage(copy);
    expect(() => parseFeatureTransform(copy)).toThrow(message);
  });
});
